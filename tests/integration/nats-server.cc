#include "nats-server.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sframe_test {

namespace fs = std::filesystem;

namespace {

constexpr auto kStartTimeout = std::chrono::seconds (15);
constexpr auto kPoll = std::chrono::milliseconds (20);
constexpr int kStartAttempts = 3;

bool
executable (const std::string & path)
{
  return !path.empty () && access (path.c_str (), X_OK) == 0 && fs::is_regular_file (path);
}

sockaddr_in
loopback (int port)
{
  sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons (static_cast<uint16_t> (port));
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  return addr;
}

/* The body of GET `path` from 127.0.0.1:port, or empty. */
std::string
http_get (int port, const std::string & path)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return {};
  timeval tv {2, 0};
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr = loopback (port);
  std::string response;
  if (connect (fd, reinterpret_cast<sockaddr *> (&addr), sizeof addr) == 0) {
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send (fd, request.data (), request.size (), MSG_NOSIGNAL) == static_cast<ssize_t> (request.size ())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv (fd, buf, sizeof buf, 0)) > 0)
        response.append (buf, static_cast<size_t> (n));
    }
  }
  close (fd);
  size_t body = response.find ("\r\n\r\n");
  return body == std::string::npos ? std::string () : response.substr (body + 4);
}

/* The integer after "key": in a JSON text, or -1. Enough for /routez. */
int
json_int (const std::string & json, const std::string & key)
{
  size_t at = json.find ("\"" + key + "\"");
  if (at == std::string::npos)
    return -1;
  at = json.find (':', at);
  if (at == std::string::npos)
    return -1;
  return std::atoi (json.c_str () + at + 1);
}

}  // namespace

std::string
find_nats_server ()
{
  if (const char *env = std::getenv ("NATS_SERVER")) {
    if (executable (env))
      return env;
  }
  std::vector<std::string> dirs;
  if (const char *path = std::getenv ("PATH")) {
    std::stringstream ss (path);
    std::string dir;
    while (std::getline (ss, dir, ':'))
      dirs.push_back (dir);
  }
  /* Debian puts it in /usr/sbin, often not in a user's PATH. */
  for (const char *dir : {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"})
    dirs.push_back (dir);
  for (const auto & dir : dirs) {
    std::string candidate = dir + "/nats-server";
    if (!dir.empty () && executable (candidate))
      return candidate;
  }
  return {};
}

int
free_tcp_port ()
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr = loopback (0);
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind (fd, reinterpret_cast<sockaddr *> (&addr), sizeof addr) == 0 &&
      getsockname (fd, reinterpret_cast<sockaddr *> (&addr), &len) == 0)
    port = ntohs (addr.sin_port);
  close (fd);
  return port;
}

bool
accepts_connections (int port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr = loopback (port);
  bool ok = connect (fd, reinterpret_cast<sockaddr *> (&addr), sizeof addr) == 0;
  close (fd);
  return ok;
}

NatsServers::NatsServers () : program_ (find_nats_server ())
{
  std::string templ = (fs::temp_directory_path () / "gst-sframe-nats-XXXXXX").string ();
  if (mkdtemp (&templ[0]))
    dir_ = templ;
  cluster_name_ = "gst-sframe-test-" + std::to_string (getpid ());
}

NatsServers::~NatsServers ()
{
  stop_all ();
  if (!dir_.empty ()) {
    std::error_code ec;
    fs::remove_all (dir_, ec);
  }
}

std::string
NatsServers::url (size_t node) const
{
  return "nats://127.0.0.1:" + std::to_string (nodes_[node].client_port);
}

std::string
NatsServers::urls () const
{
  std::string out;
  for (size_t i = 0; i < nodes_.size (); i++)
    out += (i ? "," : "") + url (i);
  return out;
}

std::vector<std::string>
NatsServers::arguments (size_t node) const
{
  const Node & n = nodes_[node];
  std::vector<std::string> args = {program_, "-a", "127.0.0.1", "-p", std::to_string (n.client_port),
      "-m", std::to_string (n.monitor_port), "-n", "node-" + std::to_string (node), "-l", n.log_path};
  if (nodes_.size () > 1) {
    std::string routes;
    for (size_t i = 0; i < nodes_.size (); i++) {
      if (i != node)
        routes += std::string (routes.empty () ? "" : ",") + "nats://127.0.0.1:" +
            std::to_string (nodes_[i].cluster_port);
    }
    args.insert (args.end (), {"--cluster", "nats://127.0.0.1:" + std::to_string (n.cluster_port),
        "--cluster_name", cluster_name_, "--routes", routes});
  }
  const ServerSecurity & s = security_;
  if (!s.tls_cert.empty ())
    args.insert (args.end (), {"--tls", "--tlscert", s.tls_cert, "--tlskey", s.tls_key});
  if (!s.client_ca.empty ())
    args.insert (args.end (), {"--tlsverify", "--tlscacert", s.client_ca});
  if (!s.user.empty ())
    args.insert (args.end (), {"--user", s.user, "--pass", s.password});
  if (!s.config_file.empty ())
    args.insert (args.end (), {"-c", s.config_file});
  return args;
}

bool
NatsServers::launch (size_t node, std::string * error)
{
  std::vector<std::string> args = arguments (node);
  if (!nodes_[node].process.start (args, error))
    return false;
  return wait_until_ready (node, error);
}

bool
NatsServers::wait_until_ready (size_t node, std::string * error)
{
  auto deadline = std::chrono::steady_clock::now () + kStartTimeout;
  while (std::chrono::steady_clock::now () < deadline) {
    if (!running (node)) {
      *error = "nats-server node " + std::to_string (node) + " exited at start";
      return false;
    }
    if (accepts_connections (nodes_[node].client_port))
      return true;
    std::this_thread::sleep_for (kPoll);
  }
  *error = "nats-server node " + std::to_string (node) + " did not accept connections in time";
  return false;
}

bool
NatsServers::start (size_t count, std::string * error)
{
  std::string ignored;
  if (!error)
    error = &ignored;
  if (program_.empty ()) {
    *error = "nats-server is not installed";
    return false;
  }
  if (dir_.empty ()) {
    *error = "cannot create a temporary folder for the server logs";
    return false;
  }
  if (!nodes_.empty () || count == 0) {
    *error = "start () takes a positive count, once";
    return false;
  }
  /* A port found free may be taken before the server binds it: then the
   * whole set starts again on fresh ports. */
  for (int attempt = 1; attempt <= kStartAttempts; attempt++) {
    stop_all ();
    nodes_ = std::vector<Node> (count);
    std::set<int> used;
    for (size_t i = 0; i < count; i++) {
      for (int *port : {&nodes_[i].client_port, &nodes_[i].cluster_port, &nodes_[i].monitor_port}) {
        do
          *port = free_tcp_port ();
        while (*port > 0 && !used.insert (*port).second);
      }
      nodes_[i].log_path = dir_ + "/node-" + std::to_string (i) + "-" + std::to_string (attempt) + ".log";
    }
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++)
      ok = launch (i, error);
    if (ok && count > 1)
      ok = wait_for_routes (kStartTimeout, error);
    if (ok)
      return true;
    *error += "\n" + logs ();
  }
  stop_all ();
  nodes_.clear ();
  return false;
}

bool
NatsServers::running (size_t node)
{
  return nodes_[node].process.running ();
}

void
NatsServers::stop (size_t node, bool hard)
{
  nodes_[node].process.stop (hard);
}

bool
NatsServers::restart (size_t node, std::string * error)
{
  std::string ignored;
  if (!error)
    error = &ignored;
  stop (node);
  /* The port is ours again once nothing listens on it. */
  if (!launch (node, error)) {
    *error += "\n" + log (node);
    return false;
  }
  return true;
}

int
NatsServers::routes_of (size_t node) const
{
  return json_int (http_get (nodes_[node].monitor_port, "/routez"), "num_routes");
}

bool
NatsServers::wait_for_routes (std::chrono::milliseconds timeout, std::string * error)
{
  auto deadline = std::chrono::steady_clock::now () + timeout;
  while (true) {
    std::vector<size_t> up;
    for (size_t i = 0; i < nodes_.size (); i++) {
      if (running (i))
        up.push_back (i);
    }
    bool formed = true;
    for (size_t i : up)
      formed = formed && routes_of (i) >= static_cast<int> (up.size ()) - 1;
    if (formed)
      return true;
    if (std::chrono::steady_clock::now () >= deadline) {
      if (error)
        *error = "the nats-server cluster did not form in time";
      return false;
    }
    std::this_thread::sleep_for (kPoll * 5);
  }
}

std::string
NatsServers::log (size_t node) const
{
  std::ifstream in (nodes_[node].log_path);
  std::stringstream ss;
  ss << in.rdbuf ();
  return ss.str ();
}

std::string
NatsServers::logs () const
{
  std::string out;
  for (size_t i = 0; i < nodes_.size (); i++)
    out += "--- node " + std::to_string (i) + " log ---\n" + log (i);
  return out;
}

void
NatsServers::stop_all ()
{
  /* Signal them all first, then reap: a cluster goes down in one grace
   * period, not one per node. */
  for (auto & n : nodes_)
    n.process.signal_stop ();
  for (size_t i = 0; i < nodes_.size (); i++)
    stop (i);
}

ServerSecurity
tls_and_password (const TestPki & pki, const std::string & user, const std::string & password)
{
  ServerSecurity security;
  security.tls_cert = pki.server_cert ();
  security.tls_key = pki.server_key ();
  security.user = user;
  security.password = password;
  return security;
}

ScratchDir::ScratchDir (const std::string & prefix)
{
  std::string tmpl = (fs::temp_directory_path () / (prefix + "-XXXXXX")).string ();
  if (mkdtemp (&tmpl[0]))
    path_ = tmpl;
}

ScratchDir::~ScratchDir ()
{
  std::error_code ignored;
  /* SFRAME_TEST_KEEP_SCRATCH=1 keeps logs and configurations to look at. */
  if (!path_.empty () && !std::getenv ("SFRAME_TEST_KEEP_SCRATCH"))
    fs::remove_all (path_, ignored);
}

bool
TestPki::run (const std::string & command, std::string * error) const
{
  std::string log = dir_ + "/openssl.log";
  /* Paths come from mkdtemp: no characters the shell would read. */
  if (std::system ((command + " >>" + log + " 2>&1").c_str ()) == 0)
    return true;
  std::ifstream in (log);
  std::stringstream text;
  text << in.rdbuf ();
  *error = "openssl failed: " + command + "\n" + text.str ();
  return false;
}

bool
TestPki::make (std::string * error)
{
  if (dir_.empty ()) {
    *error = "cannot make a directory for the test certificates";
    return false;
  }
  const std::string d = dir_;
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  auto ca = [&] (const std::string & name) {
    return run ("openssl req -x509 " + key + " -days 2 -subj /CN=gst-sframe-test-" + name + " -keyout " + d + "/" +
        name + ".key -out " + d + "/" + name + ".pem", error);
  };
  auto signed_by_ca = [&] (const std::string & name, const std::string & extensions) {
    return run ("openssl req -x509 " + key + " -days 2 -subj /CN=" + name + " -CA " + d + "/ca.pem -CAkey " + d +
        "/ca.key " + extensions + " -keyout " + d + "/" + name + ".key -out " + d + "/" + name + ".pem", error);
  };
  return ca ("ca") && ca ("other-ca") &&
      signed_by_ca ("server", "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -addext extendedKeyUsage=serverAuth") &&
      signed_by_ca ("client", "-addext extendedKeyUsage=clientAuth");
}

}  // namespace sframe_test
