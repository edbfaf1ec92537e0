#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstkeymanager-credentials.h"

#include <gst/sframe/keys/identity.h>
#include <gst/sframe/keys/token.h>

#include <glib/gstdio.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_EXTERN (gst_key_manager_debug);
#define GST_CAT_DEFAULT gst_key_manager_debug

namespace keymanager {

namespace {

/* One URI without its user information (credentials). */
std::string
redact_one_uri (const std::string & uri)
{
  size_t scheme = uri.find ("://");
  size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  size_t at = uri.find ('@', host);
  size_t slash = uri.find ('/', host);
  if (at == std::string::npos || (slash != std::string::npos && slash < at))
    return uri;
  return uri.substr (0, host) + "***@" + uri.substr (at + 1);
}

}  // namespace

std::string
redact_bus_uri (const std::string & uri)
{
  std::string out;
  size_t begin = 0;
  for (;;) {
    size_t end = std::min (uri.find (',', begin), uri.size ());
    out += redact_one_uri (uri.substr (begin, end - begin));
    if (end == uri.size ())
      return out;
    out += ',';
    begin = end + 1;
  }
}

/* A file's whole content, read straight into memory that is wiped when
 * freed: a token is a credential until used. (g_file_get_contents would
 * leave a copy in memory nobody wipes.) Any file that read () reads: a
 * pipe (token-file=<(...)) as well as a regular file. */
static bool
read_secret_file (const std::string & path, sframe::SecureBytes * contents, GError ** error)
{
  int fd = g_open (path.c_str (), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int saved = errno;
    gchar *name = g_filename_display_name (path.c_str ());
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "Failed to open file \u201c%s\u201d: %s",
        name, g_strerror (saved));
    g_free (name);
    return false;
  }
  sframe::SecureBytes buffer (4096);
  size_t used = 0;
  for (;;) {
    if (used == buffer.size ()) {
      /* Grown by a copy: the old buffer is wiped as it goes. */
      sframe::SecureBytes bigger (buffer.size () * 2);
      std::memcpy (bigger.data (), buffer.data (), used);
      buffer = std::move (bigger);
    }
    ssize_t n = read (fd, buffer.data () + used, buffer.size () - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      gchar *name = g_filename_display_name (path.c_str ());
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
          "Failed to read from file \u201c%s\u201d: %s", name, g_strerror (saved));
      g_free (name);
      close (fd);
      return false;
    }
    if (n == 0)
      break;
    used += static_cast<size_t> (n);
  }
  close (fd);
  *contents = sframe::SecureBytes (buffer.view ().sub (0, used));
  return true;
}

/* `text` without surrounding spaces, tabs and line ends. */
static sframe::SecureBytes
trimmed (const sframe::SecureBytes & text)
{
  auto blank = [] (uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t begin = 0, end = text.size ();
  while (begin < end && blank (text.data ()[begin]))
    begin++;
  while (end > begin && blank (text.data ()[end - 1]))
    end--;
  return sframe::SecureBytes (text.view ().sub (begin, end - begin));
}

static bool
load_identity (GstElement * self, const Settings & s, sframe::Identity * identity)
{
  if (s.identity.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("No device identity: set identity=FILE"),
        ("create one with: gst-sframe-keytool identity new FILE"));
    return false;
  }
  sframe::Result r = sframe::Identity::load (s.identity, identity);
  if (!r.ok ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", r.message.c_str ()),
        ("identity %s: %s", s.identity.c_str (), sframe::status_name (r.status)));
    return false;
  }
  GST_INFO_OBJECT (self, "device %s", identity->short_fingerprint ().c_str ());
  return true;
}

/* The token file's content without surrounding whitespace. */
static bool
read_token_file (GstElement * self, const std::string & path, sframe::SecureBytes * token)
{
  GStatBuf st;
  if (g_stat (path.c_str (), &st) == 0 && (st.st_mode & 077) != 0) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("Token file %s is readable by others; a token is a credential until used: chmod 600 %s",
            path.c_str (), path.c_str ()), (nullptr));
  }
  sframe::SecureBytes text;
  GError *error = nullptr;
  if (!read_secret_file (path, &text, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("Cannot read token file %s", path.c_str ()),
        ("%s", error->message));
    g_clear_error (&error);
    return false;
  }
  *token = trimmed (text);
  if (token->empty () || token->size () > sframe::token::kMaxTokenSize) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Token file %s does not hold a join token", path.c_str ()),
        ("expected one token of 1 to %zu characters", sframe::token::kMaxTokenSize));
    *token = sframe::SecureBytes ();
    return false;
  }
  return true;
}

/* What tells a changed token file: its modification time and size. */
static std::string
file_stamp (const std::string & path)
{
  GStatBuf st;
  if (g_stat (path.c_str (), &st) != 0)
    return {};
  return std::to_string (st.st_mtime) + ":" + std::to_string (st.st_size);
}

/* `token` wins over `token-file`. */
static bool
load_token (GstElement * self, const Settings & s, sframe::SecureBytes * token)
{
  if (!s.token.empty ()) {
    *token = s.token;
    return true;
  }
  if (!s.token_file.empty ())
    return read_token_file (self, s.token_file, token);
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("No join token: set token or token-file"),
      ("the room authority issues one: gst-sframe-keytool token issue ..."));
  return false;
}

static bool
load_authority (GstElement * self, const Settings & s, std::vector<uint8_t> * key)
{
  if (s.authority.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("No room authority: set authority=FILE (the authority's public key)"), (nullptr));
    return false;
  }
  sframe::Result r = sframe::load_public_key (s.authority, key);
  if (!r.ok ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", r.message.c_str ()),
        ("authority %s: %s", s.authority.c_str (), sframe::status_name (r.status)));
    return false;
  }
  return true;
}

bool
load_config (GstElement * self, const Settings & s, sframe::room::Config * config)
{
  config->room = s.room;
  config->require_admission = s.require_admission;
  config->suite = gst_sframe_core_suite (s.suite);
  config->timing.discovery_ms = s.discovery_ms;
  config->timing.switch_timeout_ms = s.switch_ms;
  config->timing.grace_ms = s.grace_ms;
  config->timing.heartbeat_ms = s.heartbeat_ms;
  config->timing.liveness_ms = s.liveness_ms;
  config->timing.ack_delay_ms = s.ack_delay_ms;
  sframe::SecureBytes token;
  if (!load_identity (self, s, &config->identity) || !load_token (self, s, &token) ||
      !load_authority (self, s, &config->authority))
    return false;
  /* room::Config holds the token as a string: the provider keeps it for
   * the whole session, since every hello carries it. */
  config->token.assign (reinterpret_cast<const char *> (token.data ()), token.size ());
  return true;
}

std::string
token_role (const sframe::room::Config & config, const sframe::room::Now & now)
{
  sframe::token::JtiCache cache (1);
  sframe::token::VerifyOptions options;
  options.room = config.room;
  options.now = now.unix_s;
  options.max_lifetime = config.max_token_lifetime_s;
  options.clock_skew = config.clock_skew_s;
  auto result = sframe::token::verify (config.token, {config.authority.data (), config.authority.size ()},
      options, cache);
  return result.ok () ? sframe::token::role_name (result.claims.role) : "";
}

TokenFileWatch::TokenFileWatch (std::string path) : path_ (std::move (path)), stamp_ (file_stamp (path_))
{
}

bool
TokenFileWatch::poll (int64_t now_ms, sframe::SecureBytes * token)
{
  if (path_.empty () || now_ms < next_check_ms_)
    return false;
  next_check_ms_ = now_ms + 1000;
  std::string stamp = file_stamp (path_);
  if (stamp.empty () || stamp == stamp_)
    return false;
  stamp_ = stamp;
  sframe::SecureBytes text;
  if (!read_secret_file (path_, &text, nullptr))
    return false;
  *token = trimmed (text);
  return true;
}

}  // namespace keymanager
