#include "janus-server.h"

#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace sframe_test {

namespace fs = std::filesystem;

namespace {

constexpr auto kStartTimeout = std::chrono::seconds (20);
constexpr auto kPoll = std::chrono::milliseconds (20);
constexpr const char *kLibDir = "/usr/lib/x86_64-linux-gnu/janus";

/* Every plugin and transport Debian ships but the two the tests use. */
constexpr const char *kDisabledPlugins =
    "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,"
    "libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,"
    "libjanus_voicemail.so";
constexpr const char *kDisabledTransports =
    "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so";

bool
write_file (const std::string & path, const std::string & text, std::string * error)
{
  std::ofstream out (path);
  out << text;
  out.close ();
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace

std::string
find_janus ()
{
  const char *env = getenv ("JANUS");
  for (std::string candidate : {env ? std::string (env) : std::string (), std::string ("/usr/bin/janus")}) {
    if (!candidate.empty () && access (candidate.c_str (), X_OK) == 0 && fs::is_regular_file (candidate))
      return candidate;
  }
  return {};
}

JanusServer::JanusServer () : program_ (find_janus ()), dir_ ("sframe-janus") {}

std::string
JanusServer::ws_url () const
{
  return "ws://127.0.0.1:" + std::to_string (ws_port_);
}

std::string
JanusServer::log () const
{
  std::ifstream in (dir_.path () + "/janus.log");
  std::stringstream text;
  text << in.rdbuf ();
  return text.str ();
}

/* SFRAME_TEST_JANUS_DEBUG=0..7 for a closer look. */
static int
debug_level (int level)
{
  const char *env = std::getenv ("SFRAME_TEST_JANUS_DEBUG");
  return env && *env >= '0' && *env <= '7' && !env[1] ? *env - '0' : level;
}

bool
JanusServer::write_config (std::string * error) const
{
  const std::string & dir = dir_.path ();
  std::error_code ec;
  fs::create_directories (recordings_dir (), ec);
  std::ostringstream core;
  core << "general: {\n"
       << "  configs_folder = \"" << dir << "\"\n"
       << "  plugins_folder = \"" << kLibDir << "/plugins\"\n"
       << "  transports_folder = \"" << kLibDir << "/transports\"\n"
       << "  events_folder = \"" << kLibDir << "/events\"\n"
       << "  loggers_folder = \"" << kLibDir << "/loggers\"\n"
       << "  log_to_stdout = false\n"
       << "  log_to_file = \"" << dir << "/janus.log\"\n"
       << "  debug_level = " << debug_level (debug_level_) << "\n"
       << "  session_timeout = " << session_timeout_ << "\n"
       << "  protected_folders = [\"/bin\", \"/boot\", \"/dev\", \"/etc\", \"/lib\", \"/proc\", \"/sbin\", "
          "\"/sys\", \"/usr\", \"/var\"]\n"
       << "}\n"
       << "nat: {\n  ice_enforce_list = \"" << ice_interface_ << "\"\n}\n"
       << "plugins: {\n  disable = \"" << kDisabledPlugins << "\"\n}\n"
       << "transports: {\n  disable = \"" << kDisabledTransports << "\"\n}\n"
       << "loggers: {\n  disable = \"libjanus_jsonlog.so\"\n}\n"
       << "events: {\n  broadcast = false\n}\n";
  std::ostringstream websockets;
  websockets << "general: {\n  json = \"plain\"\n  ws = true\n  ws_port = " << ws_port_
             << "\n  ws_ip = \"127.0.0.1\"\n  wss = false\n}\n"
             << "admin: {\n  admin_ws = false\n  admin_wss = false\n}\n";
  std::ostringstream videoroom;
  videoroom << "general: {\n  admin_key = \"" << kAdminKey << "\"\n  lock_rtp_forward = true\n}\n";
  return write_file (dir + "/janus.jcfg", core.str (), error) &&
      write_file (dir + "/janus.transport.websockets.jcfg", websockets.str (), error) &&
      write_file (dir + "/janus.plugin.videoroom.jcfg", videoroom.str (), error);
}

bool
JanusServer::launch (std::string * error)
{
  const std::string & dir = dir_.path ();
  if (!process_.start ({program_, "-F", dir, "-C", dir + "/janus.jcfg"}, error))
    return false;
  auto deadline = std::chrono::steady_clock::now () + kStartTimeout;
  while (std::chrono::steady_clock::now () < deadline) {
    if (!process_.running ()) {
      *error = "janus exited at start:\n" + log ();
      return false;
    }
    if (accepts_connections (ws_port_))
      return true;
    std::this_thread::sleep_for (kPoll);
  }
  process_.stop (true);
  *error = "janus did not accept WebSocket connections in time:\n" + log ();
  return false;
}

bool
JanusServer::start (std::string * error)
{
  std::string ignored;
  if (!error)
    error = &ignored;
  if (program_.empty ()) {
    *error = "janus is not installed";
    return false;
  }
  if (dir_.path ().empty ()) {
    *error = "cannot make a scratch directory";
    return false;
  }
  ws_port_ = free_tcp_port ();
  return ws_port_ > 0 && write_config (error) && launch (error);
}

bool
JanusServer::restart (std::string * error)
{
  std::string ignored;
  if (!error)
    error = &ignored;
  stop ();
  return launch (error);
}

}  // namespace sframe_test
