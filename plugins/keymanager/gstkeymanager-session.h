/* One run of keymanager's key protocol, from NULL->READY to READY->NULL:
 * the room's key store, the signalling bus, the KeyProvider and the worker
 * thread that owns it. The KeyProvider is single-threaded, so bus handlers
 * and action signals only queue events for the worker; the provider's
 * requests (KeyProviderOutputs) run on the worker. */
#pragma once

#include "gstkeymanager-messages.h"

#include <gst/gst.h>
#include <gst/sframe/bus/bus.h>
#include <gst/sframe/gstsframekeystore.h>
#include <gst/sframe/keys/key-provider.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#define DEFAULT_ROOM GST_SFRAME_DEFAULT_ROOM
#define DEFAULT_BUS "local://default"
#define DEFAULT_REQUIRE_ADMISSION FALSE
#define DEFAULT_SUITE GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128
#define DEFAULT_DISCOVERY_TIMEOUT 500
#define DEFAULT_SWITCH_TIMEOUT 1000
#define DEFAULT_GRACE_PERIOD 2000
#define DEFAULT_HEARTBEAT_INTERVAL 1000
#define DEFAULT_LIVENESS_TIMEOUT 5000
#define DEFAULT_ACK_DELAY 50
#define DEFAULT_STATS_INTERVAL 5000

namespace keymanager {

struct Settings {
  std::string room = DEFAULT_ROOM;
  std::string bus = DEFAULT_BUS;
  std::string identity;
  sframe::SecureBytes token;   /* a bearer credential: never logged or read back */
  std::string token_file;
  std::string authority;
  sframe::BusSecurity bus_security;   /* TLS and NATS credentials (file paths) */
  bool require_admission = DEFAULT_REQUIRE_ADMISSION;
  GstSFrameCipherSuite suite = DEFAULT_SUITE;
  guint discovery_ms = DEFAULT_DISCOVERY_TIMEOUT;
  guint switch_ms = DEFAULT_SWITCH_TIMEOUT;
  guint grace_ms = DEFAULT_GRACE_PERIOD;
  guint heartbeat_ms = DEFAULT_HEARTBEAT_INTERVAL;
  guint liveness_ms = DEFAULT_LIVENESS_TIMEOUT;
  guint ack_delay_ms = DEFAULT_ACK_DELAY;
  guint stats_ms = DEFAULT_STATS_INTERVAL;   /* sframe-stats messages; 0: none */
};

/* Bus-side counters, written from transport threads and the worker. */
struct BusCounters {
  std::atomic<bool> connected {false};
  std::atomic<bool> lost {false};   /* disconnected and not back yet */
  std::atomic<guint64> disconnects {0};
  std::atomic<guint64> reconnects {0};
  std::atomic<guint64> publish_failures {0};
  std::atomic<guint64> queue_overflows {0};
};

/* The bus's counters as the stats show them. */
BusStats bus_stats (const std::string & bus, const BusCounters & counters);

/* What the application reads while the worker owns the provider: a copy
 * the worker refreshes after every step. */
struct View {
  std::string role;
  std::string bus;   /* Bus::describe (): no credentials */
  sframe::room::RosterView roster;
  sframe::room::Stats stats;
};

/* Shared by the element and its sessions; outlives every session. */
struct Shared {
  std::mutex view_lock;
  View view;
  std::shared_ptr<BusCounters> counters = std::make_shared<BusCounters> ();   /* under view_lock */
};

enum class EventKind { message, reconnected, admit, revoke, rotate, stop };
const char *event_name (EventKind kind);
/* admit, revoke, rotate and stop: what the application asks for, taken
 * ahead of the bus (EventQueue). */
inline bool
is_command (EventKind kind)
{
  return kind != EventKind::message && kind != EventKind::reconnected;
}

struct Event {
  EventKind kind = EventKind::message;
  std::string subject;             /* admit, revoke: who */
  uint64_t key_id = 0;             /* rotate: only while this is our sender key (0: always) */
  size_t topic = 0;                /* message: its subject, as an index in Session's subjects_ (not copied per message) */
  std::vector<uint8_t> payload;
  std::shared_ptr<std::promise<bool>> done;   /* commands: the outcome */
};

/* What the worker waits on: bus messages in arrival order, and commands
 * (admit, revoke, rotate, stop) ahead of them. A host's revoke must not
 * wait behind the thousands of messages a rotation in a large room
 * queues: the worker takes commands between any two messages. */
class EventQueue : public std::enable_shared_from_this<EventQueue> {
public:
  /* A flood from the bus must not exhaust memory: messages beyond these
   * are dropped (the protocol resends and resynchronises). Commands are
   * always queued. A rotation at N = 200 brings a slow worker a few
   * thousand messages; what is dropped there comes back as resends. */
  static constexpr size_t kMaxMessages = 16384;
  static constexpr size_t kMaxBytes = 16 << 20;

  enum class Outcome { queued, full, closed };

  /* Wakes the worker at once, or at the end of the bus thread's delivery
   * round. The queue must be owned by a shared_ptr. */
  Outcome push (Event event);
  /* Waits until something is queued or `deadline` passes; takes it all,
   * commands first, into `events` (empty): the worker passes the same
   * deque each time, so its memory goes back and forth with the queue's
   * instead of being allocated for every batch. */
  void wait (std::chrono::steady_clock::time_point deadline, std::deque<Event> & events);
  /* Moves the commands queued since to the front of `events`: the worker
   * asks between messages (one atomic load when there are none). */
  void take_commands (std::deque<Event> & events);
  /* Refuses everything from now on; returns what was still queued. */
  std::deque<Event> close ();

private:
  void take_locked (std::deque<Event> & events);
  /* The queued commands, to the front of `events`. */
  void move_commands_locked (std::deque<Event> & events);
  void wake ();

  std::mutex lock_;
  std::condition_variable cond_;
  std::deque<Event> commands_;
  std::atomic<bool> commands_waiting_ {false};
  std::deque<Event> events_;
  size_t messages_ = 0;
  size_t bytes_ = 0;
  bool closed_ = false;
  bool wake_pending_ = false;   /* a wake is deferred to the end of a delivery round */
};

/* How an action signal reaches a running session without holding it. */
struct CommandChannel {
  std::shared_ptr<EventQueue> queue;
  std::thread::id worker;
};

/* Runs admit, revoke or rotate on the worker and waits (bounded) for the
 * outcome. FALSE when refused, not answered in time, stopped meanwhile, or
 * called from the worker itself (it cannot wait for its own thread). */
bool send_command (GstElement * element, const CommandChannel & channel, EventKind kind,
    const std::string & who);

class Session : public sframe::room::KeyProviderOutputs {
public:
  /* Loads the files, obtains the key store, opens the bus, announces this
   * device and starts the worker; nullptr (an element error posted) on
   * failure. */
  static std::unique_ptr<Session> start (GstElement * element, const Settings & settings, Shared * shared);
  /* Leaves the room and stops the worker; the destructor then takes every
   * key it installed out of the store. Returns TRUE when called from the
   * worker itself: the worker then owns (and deletes) this session. */
  bool stop ();
  ~Session () override;

  CommandChannel command_channel () const { return {queue_, worker_.get_id ()}; }

  /* KeyProviderOutputs, on the worker (or in open (), before it runs). */
  void publish (const std::string & subject, const std::vector<uint8_t> & payload) override;
  void install_key (uint64_t key_id, const sframe::SecureBytes & base_key) override;
  void install_own_key (uint64_t key_id, const sframe::SecureBytes & base_key) override;
  void remove_key (uint64_t key_id) override;
  void set_sender_key (uint64_t key_id) override;
  void clear_sender_key () override;
  void roster_changed (sframe::room::RosterView roster) override;
  void member_refused (const std::string & who, sframe::room::Refusal reason,
      const std::string & detail) override;
  void key_rotated (uint64_t key_id, const std::string & reason) override;
  void left (const std::string & reason) override;

private:
  Session (GstElement * element, const Settings & s, Shared * shared, std::shared_ptr<BusCounters> counters)
      : element_ (element), shared_ (shared), room_ (s.room), suite_ (s.suite), stats_ms_ (s.stats_ms),
        counters_ (std::move (counters)) {}

  bool open (const Settings & s, sframe::room::Config & config);
  bool open_bus (const std::string & uri, const sframe::BusSecurity & security);
  bool subscribe ();
  void run ();
  bool handle (Event & event);
  void finish (std::deque<Event> & unhandled);
  void refresh_view (bool with_roster = true);
  void renew_from_token_file (const sframe::room::Now & now);
  void post (GstStructure * structure);
  void post_stats ();
  MediaStats media_stats ();
  void forget_keys ();

  GstElement *element_;
  Shared *shared_;
  std::string room_;
  GstSFrameCipherSuite suite_;
  guint stats_ms_;
  std::shared_ptr<BusCounters> counters_;
  std::shared_ptr<EventQueue> queue_ = std::make_shared<EventQueue> ();

  GstSFrameKeyStore *store_ = nullptr;
  std::unique_ptr<sframe::Bus> bus_;
  std::vector<std::string> subjects_;   /* what the provider listens on; fixed while running */
  std::vector<std::unique_ptr<sframe::BusSubscription>> subscriptions_;
  std::unique_ptr<sframe::room::KeyProvider> provider_;
  std::thread worker_;
  bool detached_ = false;   /* stopped from the worker itself: it cleans up */

  /* Worker only: what we put in the key store, to take it out again. */
  std::unordered_set<uint64_t> installed_;
  bool sender_set_ = false;
  uint64_t sender_key_id_ = 0;
  gulong exhausted_handler_ = 0;   /* the store's key-exhausted signal */
  /* token-file is read again when it changes: how a long meeting renews
   * its short-lived token (docs/key-protocol.md, "Renewal"). */
  std::string token_file_;
  std::string token_file_stamp_;   /* mtime and size when last read */
  int64_t next_token_check_ms_ = 0;
};

}  // namespace keymanager
