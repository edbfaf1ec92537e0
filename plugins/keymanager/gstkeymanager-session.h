/* One run of keymanager's key protocol, from NULL->READY to READY->NULL:
 * the room's key store, the signalling bus, the KeyProvider and the worker
 * thread that owns it. The KeyProvider is single-threaded, so bus handlers
 * and action signals only queue events for the worker
 * (gstkeymanager-events.h); the provider's requests (KeyProviderOutputs)
 * run on the worker. */
#pragma once

#include "gstkeymanager-credentials.h"
#include "gstkeymanager-events.h"
#include "gstkeymanager-messages.h"
#include "gstkeymanager-settings.h"

#include <gst/gst.h>
#include <gst/sframe/bus/bus.h>
#include <gst/sframe/gstsframekeystore.h>
#include <gst/sframe/keys/key-provider.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace keymanager {

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
  void install_key (uint64_t key_id, const sframe::SecureBytes & base_key,
      const sframe::room::MemberInfo & owner) override;
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
  TokenFileWatch token_file_;   /* token-file, when the token came from it */
};

}  // namespace keymanager
