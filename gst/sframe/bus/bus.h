/* The signalling bus, as the key protocol sees it: subjects to publish to
 * and subscribe on, nothing more. The bus is untrusted (docs/threat-model.md):
 * it may drop, delay, reorder, replay, modify and inject messages, so
 * nothing here authenticates anything; the key protocol does.
 *
 * Two transports: "local://NAME" (in process, bus-local.h) and
 * "nats://[USER:PASSWORD@]HOST:PORT[,...]" (NATS, bus-nats.cc; "tls://"
 * instead of "nats://" requires TLS).
 * GStreamer-free; the NATS transport needs libnats. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/status.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sframe {

/* Ends a subscription when destroyed: after the destructor returns, its
 * handler is not running and never runs again. Destroying it from inside a
 * handler is allowed (even its own: that call finishes, no other follows).
 * A subscription may outlive its Bus; it keeps the transport alive. */
class GST_SFRAME_API BusSubscription {
public:
  virtual ~BusSubscription ();
};

class GST_SFRAME_API Bus {
public:
  /* Runs on a transport thread, never concurrently with itself for one
   * subscription. It must return quickly (queue the work). */
  using Handler = std::function<void (const std::string & subject, ByteView payload)>;
  /* Connection changes: false when the transport lost its server, true
   * when it is back (after a reconnect the protocol resynchronises). */
  using StateHandler = std::function<void (bool connected)>;

  virtual ~Bus ();

  /* Subjects are dot-separated tokens of [A-Za-z0-9_-]; no wildcards
   * (is_subject ()). publish copies the payload and does not block for
   * long: while the server is away, messages are buffered. Returns
   * invalid_argument for a bad subject or a payload the transport cannot
   * carry, buffer_too_small when the outage buffer is full. A bus's own
   * subscriptions receive what it publishes. */
  virtual Status publish (const std::string & subject, ByteView payload) = 0;
  /* nullptr for a bad subject or an empty handler. Exact subject match. */
  virtual std::unique_ptr<BusSubscription> subscribe (const std::string & subject, Handler handler) = 0;
  /* Replaces the state handler (nullptr: none); after it returns, the old
   * one is not running (unless called from inside it) and never runs again. */
  virtual void set_state_handler (StateHandler handler) = 0;
  /* For logs: the URI without credentials. */
  virtual std::string describe () const = 0;
};

/* The messages a transport thread hands to its handlers in one go. A
 * handler that queues work for another thread may wake that thread once
 * per round (wake_later) instead of once per message: at N = 200 a
 * rotation is 40,000 messages on one machine, and a futex call and a
 * context switch for each were a fifth of its CPU. The local bus runs its
 * deliveries in rounds; a thread in no round (NATS callbacks, the
 * application) wakes at once. Rounds nest; the innermost one collects. */
class GST_SFRAME_API DeliveryRound {
public:
  using Wake = std::function<void ()>;

  DeliveryRound ();
  /* Runs the wakes still pending. */
  ~DeliveryRound ();
  DeliveryRound (const DeliveryRound &) = delete;
  DeliveryRound & operator= (const DeliveryRound &) = delete;

  /* Runs the wakes collected so far, in the order they came. */
  void finish ();
  /* Runs `wake` at the end of this thread's current round, or now when
   * the thread is in none. Exceptions from a wake are dropped. */
  static void wake_later (Wake wake);

private:
  std::vector<Wake> wakes_;
  DeliveryRound *outer_;
};

/* How a client proves itself to the bus server, and which server it
 * trusts (NATS only). Paths of PEM files (and of a NATS credentials file);
 * their contents never appear in messages. The bus stays untrusted: this
 * keeps outsiders off the server, so they cannot even inject. */
struct BusSecurity {
  std::string tls_ca_file;       /* trust only servers these CAs signed; TLS is then required */
  std::string tls_cert_file;     /* this client's certificate chain, for servers that verify clients */
  std::string tls_key_file;      /* ... and its private key */
  std::string credentials_file;  /* NATS credentials: a user JWT and its nkey seed (.creds) */

  bool empty () const
  {
    return tls_ca_file.empty () && tls_cert_file.empty () && tls_key_file.empty () && credentials_file.empty ();
  }
};

/* Opens a bus by URI into *bus. Fails with invalid_argument for a bad URI
 * or security setting and bus_unavailable when no server answers or the
 * server refuses us, with a reason for people (never secrets: URIs are
 * shown without their credentials). A comma-separated list of nats:// (or
 * tls://) URIs names the nodes of one cluster. `security` applies to NATS;
 * set for a local bus, it is an error. */
GST_SFRAME_API Result open_bus (const std::string & uri, const BusSecurity & security, std::unique_ptr<Bus> * bus);
GST_SFRAME_API Result open_bus (const std::string & uri, std::unique_ptr<Bus> * bus);

/* True for a subject token: 1..64 characters of [A-Za-z0-9_-]. */
GST_SFRAME_API bool is_subject_token (const std::string & token);
/* True for a subject: 1..16 subject tokens joined by dots, at most 255
 * characters. */
GST_SFRAME_API bool is_subject (const std::string & subject);

}  // namespace sframe
