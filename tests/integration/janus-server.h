/* A real Janus (Debian's janus 1.1.2) for tests: only the VideoRoom plugin
 * and the WebSocket transport, bound to 127.0.0.1 on a free port, ICE
 * enforced to the `lo` interface (ice_enforce_list), recordings in a folder
 * of its own. Janus 1.1.2 never gathers candidates on a loopback
 * interface: with "lo" it falls back to every other interface, so a test
 * that sends media through it needs a network namespace of its own. The
 * configuration is generated into a scratch directory, removed with it.
 * The process is stopped when the JanusServer goes (see ServerProcess),
 * and can be killed and started again on the same port (an SFU restart). */
#pragma once

#include "nats-server.h"
#include "server-process.h"

#include <string>

namespace sframe_test {

/* The janus program, or empty when it is not installed. */
std::string find_janus ();

class JanusServer {
public:
  JanusServer ();
  JanusServer (const JanusServer &) = delete;
  JanusServer & operator= (const JanusServer &) = delete;

  /* Writes the configuration, starts Janus and waits until its WebSocket
   * transport accepts connections; false and why (with its log) in
   * *error. */
  bool start (std::string * error);
  /* SIGTERM, or SIGKILL at once when `hard`; returns when it is gone. */
  void stop (bool hard = false) { process_.stop (hard); }
  /* Starts a stopped Janus again on the same port. */
  bool restart (std::string * error);
  bool running () { return process_.running (); }
  /* SIGSTOP / SIGCONT: Janus hangs with its sockets open. */
  void pause () { process_.pause (); }
  void resume () { process_.resume (); }
  /* Janus drops a session after this many seconds without a request;
   * for the servers started after this (Janus's default: 60). */
  void set_session_timeout (int seconds) { session_timeout_ = seconds; }
  /* Janus's log level (0..7, default 4) for the servers started after
   * this; 6 logs what Janus reads of the media (key frames it detects).
   * SFRAME_TEST_JANUS_DEBUG overrides it. */
  void set_debug_level (int level) { debug_level_ = level; }

  /* ICE on this interface only (ice_enforce_list), for the servers
   * started after this; default "lo" (see above: no media then). */
  void set_ice_interface (const std::string & name) { ice_interface_ = name; }

  int ws_port () const { return ws_port_; }
  /* "ws://127.0.0.1:PORT", what the room elements take as `server`. */
  std::string ws_url () const;
  /* Where rooms created with "record": true write (rec_dir). */
  std::string recordings_dir () const { return dir_.path () + "/recordings"; }
  /* The VideoRoom plugin's admin_key, needed to create rooms. */
  static constexpr const char *kAdminKey = "gst-sframe-test-admin-key";
  std::string log () const;

private:
  bool write_config (std::string * error) const;
  bool launch (std::string * error);

  std::string program_;
  ScratchDir dir_;
  int ws_port_ = 0;
  int session_timeout_ = 60;
  int debug_level_ = 4;
  std::string ice_interface_ = "lo";
  ServerProcess process_;
};

}  // namespace sframe_test
