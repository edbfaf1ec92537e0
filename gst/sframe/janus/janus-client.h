/* A Janus API connection over a WebSocket (libsoup 3, subprotocol
 * "janus-protocol"): requests matched to their replies by transaction,
 * with a timeout each; events handed to one handler; the session kept
 * alive; the connection's loss reported once. Everything runs on the
 * GMainContext that was thread-default when the Client was made, and
 * every handler is called there; the Client is not thread-safe.
 *
 * What Janus sends that does not parse is dropped and counted (stats ()),
 * never handed on. No GStreamer; no key material passes through here. */
#pragma once

#include <gst/sframe/janus/janus-protocol.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sframe {
namespace janus {

class Client {
public:
  /* The reply to a request (never its "ack"); on timeout or loss of the
   * connection, a Reply of kind `timeout` with the reason in `error`. */
  using ReplyHandler = std::function<void (const Reply & reply)>;
  /* Everything Janus sends that answers no pending request. */
  using EventHandler = std::function<void (const Reply & event)>;
  /* Once, when an open connection is lost (closed by Janus, or broken). */
  using ClosedHandler = std::function<void (const std::string & why)>;
  /* Makes a request's JSON for the transaction the Client picked. */
  using Builder = std::function<std::string (const std::string & transaction)>;

  struct Stats {
    uint64_t sent = 0;
    uint64_t received = 0;
    uint64_t malformed = 0;   /* messages dropped because they did not parse */
    uint64_t timeouts = 0;    /* requests that got no reply in time */
  };

  Client ();
  ~Client ();
  Client (const Client &) = delete;
  Client & operator= (const Client &) = delete;

  /* Connects to `url` (ws:// or wss://); `done` gets ok, or
   * bus_unavailable with the reason. */
  void connect (const std::string & url, std::function<void (Result)> done);
  bool connected () const;
  /* Sends a request; `on_reply` is called exactly once. */
  void request (const Builder & build, ReplyHandler on_reply, unsigned timeout_ms = 10000);
  /* Sends a request whose replies, if any, go to the event handler. */
  void send (const Builder & build);
  void set_event_handler (EventHandler handler);
  void set_closed_handler (ClosedHandler handler);
  /* A keepalive for `session` every `interval_ms` (Janus drops a session
   * after 60 s of silence); 0 stops it. */
  void keep_alive (uint64_t session, unsigned interval_ms = 25000);
  /* Closes the connection; pending requests get their timeout reply. */
  void close ();

  Stats stats () const;

private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace janus
}  // namespace sframe
