/* gst-sframe-keytool: identities, room authorities and join tokens from the
 * command line. Built on the GStreamer-free core only.
 *
 * Exit status: 0 success, 1 failure (a token refused, with its reason, or a
 * key file refused or unreadable), 2 usage (bad command line or argument).
 * It never prints private key bytes: private keys go to files only. */
#include <gst/sframe/keys/identity.h>
#include <gst/sframe/keys/token.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace token = sframe::token;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

const char kUsage[] =
    "usage: gst-sframe-keytool COMMAND ...\n"
    "\n"
    "  identity new [--force] FILE\n"
    "      new device identity (Ed25519): FILE (private, mode 0600) and FILE.pub\n"
    "  authority new [--force] FILE\n"
    "      new room authority key: FILE (private, mode 0600) and FILE.pub\n"
    "  fingerprint FILE\n"
    "      fingerprint of a private or public key file\n"
    "  token issue --authority FILE --room ROOM --member ID --name NAME\n"
    "              --role host|member --device FILE.pub [--grants LIST]\n"
    "              [--lifetime SECONDS] [--out FILE [--force]]\n"
    "      sign a join token; LIST is a comma-separated subset of\n"
    "      publish-audio,publish-video,publish-screen,subscribe (default\n"
    "      publish-audio,publish-video,subscribe); lifetime default 300 s, at most 86400\n"
    "  token show TOKEN|FILE|-\n"
    "      print header and claims WITHOUT verifying anything\n"
    "  token verify --authority FILE.pub --room ROOM [--max-lifetime SECONDS]\n"
    "               [--skew SECONDS] [--now EPOCH-SECONDS] TOKEN|FILE|-\n"
    "      check signature, authority, room and time; one-shot, so it cannot\n"
    "      detect a replay (the joining service keeps the jti cache)\n"
    "\n"
    "exit status: 0 ok, 1 refused or failed (with the reason), 2 usage\n";

int
usage (const std::string & why)
{
  if (why.empty ())
    std::cerr << kUsage;
  else
    std::cerr << "gst-sframe-keytool: " << why << " (see gst-sframe-keytool --help)\n";
  return kExitUsage;
}

int
failure (const std::string & why)
{
  std::cerr << "gst-sframe-keytool: " << why << "\n";
  return kExitFailure;
}

/* "--name value" and "--name=value" options, "--flag" flags, positionals. */
struct Args {
  std::map<std::string, std::string> options;
  std::set<std::string> flags;
  std::vector<std::string> positional;
};

bool
parse_args (int argc, char **argv, int first, const std::set<std::string> & with_value,
    const std::set<std::string> & flags, Args * out, std::string * error)
{
  for (int i = first; i < argc; i++) {
    std::string arg = argv[i];
    if (arg.size () < 3 || arg.compare (0, 2, "--") != 0) {
      out->positional.push_back (arg);
      continue;
    }
    std::string name = arg.substr (2), value;
    size_t eq = name.find ('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr (eq + 1);
      name = name.substr (0, eq);
    }
    if (flags.count (name) && !inline_value) {
      out->flags.insert (name);
      continue;
    }
    if (!with_value.count (name)) {
      *error = "unknown option --" + name;
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        *error = "--" + name + " needs a value";
        return false;
      }
      value = argv[++i];
    }
    if (out->options.count (name)) {
      *error = "--" + name + " given twice";
      return false;
    }
    out->options[name] = value;
  }
  return true;
}

bool
parse_seconds (const std::string & text, int64_t * out)
{
  if (text.empty () || text.find_first_not_of ("0123456789") != std::string::npos || text.size () > 15)
    return false;
  *out = std::strtoll (text.c_str (), nullptr, 10);
  return true;
}

std::string
utc (int64_t t)
{
  std::time_t tt = static_cast<std::time_t> (t);
  std::tm tm {};
  char buf[32];
  if (!gmtime_r (&tt, &tm) || !std::strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
    return std::to_string (t);
  return buf;
}

/* A private key file (permission-checked) or a public key file. */
bool
load_any_public_key (const std::string & path, std::vector<uint8_t> * pk, std::string * error)
{
  sframe::Result r = sframe::load_public_key (path, pk);
  if (r.ok ())
    return true;
  if (r.status != sframe::Status::bad_format) {
    *error = r.message;
    return false;
  }
  sframe::Identity id;
  sframe::Result pr = sframe::Identity::load (path, &id);
  if (pr.ok ()) {
    *pk = id.public_key ();
    return true;
  }
  *error = pr.status == sframe::Status::bad_format ? path + ": not an Ed25519 private or public key file"
      : pr.message;
  return false;
}

/* A token given inline, in a file, or on stdin ("-"). */
bool
read_token (const std::string & arg, std::string * out, std::string * error)
{
  std::string text;
  struct stat st;
  if (arg == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf ();
    text = ss.str ();
  } else if (stat (arg.c_str (), &st) == 0 && S_ISREG (st.st_mode)) {
    if (st.st_size > static_cast<off_t> (4 * token::kMaxTokenSize)) {
      *error = arg + ": too large to be a token";
      return false;
    }
    std::ifstream in (arg);
    std::stringstream ss;
    ss << in.rdbuf ();
    if (!in) {
      *error = "cannot read " + arg;
      return false;
    }
    text = ss.str ();
  } else {
    text = arg;
  }
  size_t b = text.find_first_not_of (" \t\r\n"), e = text.find_last_not_of (" \t\r\n");
  *out = b == std::string::npos ? std::string () : text.substr (b, e - b + 1);
  return true;
}

/* Writes a token file: a bearer credential, so 0600 like a private key.
 * Replacing one (--force) writes a temporary sibling and renames it over
 * the old file, so that a keymanager reading the file to renew its token
 * never sees it half written. */
bool
write_token_file (const std::string & path, const std::string & tok, bool force, std::string * error)
{
  std::string target = path;
  if (force) {
    std::string tmpl = path + ".XXXXXX";
    int fd = mkstemp (&tmpl[0]);
    if (fd < 0) {
      *error = "cannot create a file beside " + path + ": " + std::strerror (errno);
      return false;
    }
    close (fd);
    target = tmpl;
  }
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  int fd = open (target.c_str (), flags, 0600);
  if (fd < 0) {
    *error = errno == EEXIST ? path + " already exists (use --force to replace it)"
        : "cannot create " + path + ": " + std::strerror (errno);
    return false;
  }
  std::string line = tok + "\n";
  bool ok = fchmod (fd, 0600) == 0 && write (fd, line.data (), line.size ()) == static_cast<ssize_t> (line.size ());
  ok = close (fd) == 0 && ok;
  if (ok && force && rename (target.c_str (), path.c_str ()) != 0)
    ok = false;
  if (!ok) {
    *error = "cannot write " + path;
    if (force)
      unlink (target.c_str ());
  }
  return ok;
}

int
cmd_new_key (int argc, char **argv, const char *what)
{
  Args args;
  std::string error;
  if (!parse_args (argc, argv, 3, {}, {"force"}, &args, &error))
    return usage (error);
  if (args.positional.size () != 1)
    return usage ("expected one FILE");
  const std::string file = args.positional[0], pub = file + ".pub";
  bool force = args.flags.count ("force");
  /* Check both names first so a refusal writes nothing at all. */
  struct stat st;
  if (!force && (lstat (file.c_str (), &st) == 0 || lstat (pub.c_str (), &st) == 0))
    return failure ((lstat (file.c_str (), &st) == 0 ? file : pub) +
        " already exists; refusing to overwrite it (use --force to replace it)");
  sframe::Identity id;
  if (sframe::Identity::generate (&id) != sframe::Status::ok)
    return failure ("key generation failed");
  sframe::Result r = id.save (file, force);
  if (!r.ok ())
    return failure (r.message);
  r = sframe::save_public_key (pub, {id.public_key ().data (), id.public_key ().size ()},
      sframe::PublicKeyFormat::pem, force);
  if (!r.ok ())
    return failure (r.message);
  std::cout << "new " << what << "\n"
            << "  private key  " << file << " (mode 0600; keep it secret)\n"
            << "  public key   " << pub << "\n"
            << "  fingerprint  " << id.fingerprint () << "\n";
  return kExitOk;
}

int
cmd_fingerprint (int argc, char **argv)
{
  Args args;
  std::string error;
  if (!parse_args (argc, argv, 2, {}, {}, &args, &error))
    return usage (error);
  if (args.positional.size () != 1)
    return usage ("expected one FILE");
  std::vector<uint8_t> pk;
  if (!load_any_public_key (args.positional[0], &pk, &error))
    return failure (error);
  sframe::ByteView v (pk.data (), pk.size ());
  std::cout << "fingerprint  " << sframe::fingerprint (v) << "\n"
            << "short        " << sframe::short_fingerprint (v) << "\n"
            << "public key   " << sframe::public_key_to_text (v, sframe::PublicKeyFormat::base64url) << "\n";
  return kExitOk;
}

bool
parse_role (const std::string & s, token::Role * role)
{
  if (s == "host")
    *role = token::Role::host;
  else if (s == "member")
    *role = token::Role::member;
  else
    return false;
  return true;
}

int
cmd_token_issue (int argc, char **argv)
{
  Args args;
  std::string error;
  if (!parse_args (argc, argv, 3, {"authority", "room", "member", "name", "role", "device", "grants", "lifetime",
          "out"}, {"force"}, &args, &error))
    return usage (error);
  if (!args.positional.empty ())
    return usage ("unexpected argument " + args.positional[0]);
  for (const char *required : {"authority", "room", "member", "name", "role", "device"}) {
    if (!args.options.count (required))
      return usage (std::string ("--") + required + " is required");
  }
  token::IssueRequest req;
  req.room = args.options["room"];
  req.member_id = args.options["member"];
  req.display_name = args.options["name"];
  if (!parse_role (args.options["role"], &req.role))
    return usage ("--role must be host or member");
  if (args.options.count ("grants") && !token::parse_grants (args.options["grants"], &req.grants))
    return usage ("--grants must be a comma-separated list of publish-audio, publish-video, "
        "publish-screen, subscribe");
  if (args.options.count ("lifetime") && !parse_seconds (args.options["lifetime"], &req.lifetime))
    return usage ("--lifetime must be a number of seconds");
  if (args.flags.count ("force") && !args.options.count ("out"))
    return usage ("--force only applies with --out");

  sframe::Identity authority;
  sframe::Result r = sframe::Identity::load (args.options["authority"], &authority);
  if (!r.ok ())
    return failure (r.message);
  sframe::Result pr = sframe::load_public_key (args.options["device"], &req.device_public_key);
  if (!pr.ok ())
    return failure (pr.message);

  std::string tok;
  token::Claims claims;
  sframe::Result issued = token::issue (authority, req, static_cast<int64_t> (std::time (nullptr)), &tok, &claims);
  if (issued.status == sframe::Status::invalid_argument)
    return usage (issued.message);
  if (!issued.ok ())
    return failure (std::string ("signing failed: ") + sframe::status_name (issued.status));
  if (args.options.count ("out")) {
    if (!write_token_file (args.options["out"], tok, args.flags.count ("force"), &error))
      return failure (error);
  } else {
    std::cout << tok << "\n";
  }
  /* Details on stderr, so stdout stays just the token. */
  std::cerr << "token for " << claims.member_id << " in room " << claims.room << ", expires "
            << utc (claims.expires_at) << ", jti " << claims.jti << "\n";
  return kExitOk;
}

int
cmd_token_show (int argc, char **argv)
{
  Args args;
  std::string error, tok, header, claims;
  if (!parse_args (argc, argv, 3, {}, {}, &args, &error))
    return usage (error);
  if (args.positional.size () != 1)
    return usage ("expected one TOKEN, FILE or -");
  if (!read_token (args.positional[0], &tok, &error))
    return failure (error);
  if (token::decode_unverified (tok, &header, &claims) != sframe::Status::ok)
    return failure ("token refused: malformed: not a compact JWS of JSON objects");
  std::cout << "UNVERIFIED: signature, authority, room and expiry were NOT checked\n"
            << "header " << header << "\nclaims " << claims << "\n";
  nlohmann::json c = nlohmann::json::parse (claims, nullptr, false);
  for (const char *t : {"iat", "exp"}) {
    if (c.is_object () && c.contains (t) && c[t].is_number_integer ())
      std::cout << t << "    " << utc (c[t].get<int64_t> ()) << "\n";
  }
  return kExitOk;
}

int
cmd_token_verify (int argc, char **argv)
{
  Args args;
  std::string error, tok;
  if (!parse_args (argc, argv, 3, {"authority", "room", "max-lifetime", "skew", "now"}, {}, &args, &error))
    return usage (error);
  if (args.positional.size () != 1)
    return usage ("expected one TOKEN, FILE or -");
  if (!args.options.count ("authority") || !args.options.count ("room"))
    return usage ("--authority and --room are required");
  token::VerifyOptions o;
  o.room = args.options["room"];
  o.now = static_cast<int64_t> (std::time (nullptr));
  if ((args.options.count ("max-lifetime") && !parse_seconds (args.options["max-lifetime"], &o.max_lifetime)) ||
      (args.options.count ("skew") && !parse_seconds (args.options["skew"], &o.clock_skew)) ||
      (args.options.count ("now") && !parse_seconds (args.options["now"], &o.now)))
    return usage ("--max-lifetime, --skew and --now take a number of seconds");

  std::vector<uint8_t> authority;
  if (!load_any_public_key (args.options["authority"], &authority, &error))
    return failure (error);
  if (!read_token (args.positional[0], &tok, &error))
    return failure (error);
  token::JtiCache cache;
  token::VerifyResult r = token::verify (tok, {authority.data (), authority.size ()}, o, cache);
  if (r.status == sframe::Status::invalid_argument)
    return usage (r.message);
  if (!r.ok ())
    return failure (std::string ("token refused: ") + sframe::status_name (r.status) +
        (r.message.empty () ? "" : ": " + r.message));
  const token::Claims & c = r.claims;
  sframe::ByteView dpk (c.device_public_key.data (), c.device_public_key.size ());
  std::cout << "valid token\n"
            << "  room     " << c.room << "\n"
            << "  member   " << c.member_id << " (" << nlohmann::json (c.display_name).dump () << ")\n"
            << "  role     " << token::role_name (c.role) << "\n"
            << "  grants   " << token::grants_to_string (c.grants) << "\n"
            << "  device   " << sframe::fingerprint (dpk) << "\n"
            << "  issued   " << utc (c.issued_at) << "\n"
            << "  expires  " << utc (c.expires_at) << "\n"
            << "  jti      " << c.jti << "\n";
  return kExitOk;
}

}  // namespace

int
main (int argc, char **argv)
{
  std::string cmd = argc > 1 ? argv[1] : "";
  std::string sub = argc > 2 ? argv[2] : "";
  try {
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (cmd == "identity" && sub == "new")
      return cmd_new_key (argc, argv, "device identity");
    if (cmd == "authority" && sub == "new")
      return cmd_new_key (argc, argv, "room authority");
    if (cmd == "fingerprint")
      return cmd_fingerprint (argc, argv);
    if (cmd == "token" && sub == "issue")
      return cmd_token_issue (argc, argv);
    if (cmd == "token" && sub == "show")
      return cmd_token_show (argc, argv);
    if (cmd == "token" && sub == "verify")
      return cmd_token_verify (argc, argv);
  } catch (const std::exception & e) {
    return failure (std::string ("internal error: ") + e.what ());
  }
  return usage (cmd.empty () ? "" : "unknown command " + cmd + (sub.empty () ? "" : " " + sub));
}
