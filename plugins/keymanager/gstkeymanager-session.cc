#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstkeymanager-session.h"
#include "gstkeymanager-media-stats.h"

#include <gst/sframe/core/keyring.h>

GST_DEBUG_CATEGORY_EXTERN (gst_key_manager_debug);
#define GST_CAT_DEFAULT gst_key_manager_debug

namespace keymanager {

namespace {

using Clock = std::chrono::steady_clock;

/* The worker wakes at least this often, whatever tick() asks. */
constexpr int64_t kMaxSleepMs = 10000;

sframe::room::Now
clock_now ()
{
  using namespace std::chrono;
  return {duration_cast<milliseconds> (Clock::now ().time_since_epoch ()).count (),
    duration_cast<seconds> (system_clock::now ().time_since_epoch ()).count ()};
}

/* tick() deadlines are Clock milliseconds; never sleep 0 (a provider that
 * keeps returning the past would spin) nor forever. */
Clock::time_point
wake_time (int64_t deadline_ms, int64_t now_ms)
{
  int64_t wait_ms = std::min (std::max<int64_t> (deadline_ms - now_ms, 1), kMaxSleepMs);
  return Clock::now () + std::chrono::milliseconds (wait_ms);
}

constexpr int64_t kTickGapMs = 10;
/* A safety net only: the provider reports every change of the roster view
 * (roster_changed ()). Building the view walks the whole roster, which
 * every member doing every second was a few percent of a room of 200. */
constexpr int64_t kRosterRefreshMs = 5000;

}  // namespace

BusStats
bus_stats (const std::string & bus, const BusCounters & c)
{
  BusStats stats;
  stats.bus = bus;
  stats.connected = c.connected;
  stats.disconnects = c.disconnects;
  stats.reconnects = c.reconnects;
  stats.publish_failures = c.publish_failures;
  stats.queue_overflows = c.queue_overflows;
  return stats;
}

/* ------------------------------------------------------------------------
 * Session: start, worker, stop */

bool
Session::open_bus (const std::string & uri, const sframe::BusSecurity & security)
{
  sframe::Result opened = sframe::open_bus (uri, security, &bus_);
  if (!opened.ok ()) {
    GST_ELEMENT_ERROR (element_, RESOURCE, OPEN_READ_WRITE,
        ("Cannot open the signalling bus %s: %s", redact_bus_uri (uri).c_str (), opened.message.c_str ()),
        (nullptr));
    return false;
  }
  counters_->connected = true;
  auto counters = counters_;
  auto queue = queue_;
  bus_->set_state_handler ([counters, queue] (bool connected) {
    counters->connected = connected;
    if (!connected) {
      if (!counters->lost.exchange (true))
        counters->disconnects++;
      return;
    }
    if (!counters->lost.exchange (false))
      return;
    counters->reconnects++;
    Event event;
    event.kind = EventKind::reconnected;
    queue->push (std::move (event));
  });
  std::lock_guard<std::mutex> lock (shared_->view_lock);
  shared_->view.bus = bus_->describe ();
  return true;
}

bool
Session::subscribe ()
{
  auto counters = counters_;
  auto queue = queue_;
  subjects_ = provider_->subjects ();
  for (size_t topic = 0; topic < subjects_.size (); topic++) {
    const std::string & subject = subjects_[topic];
    auto subscription = bus_->subscribe (subject,
        [counters, queue, topic] (const std::string &, sframe::ByteView payload) {
      Event event;
      event.topic = topic;
      event.payload.assign (payload.data, payload.data + payload.size);
      if (queue->push (std::move (event)) == EventQueue::Outcome::full)
        counters->queue_overflows++;
    });
    if (!subscription) {
      GST_ELEMENT_ERROR (element_, RESOURCE, OPEN_READ_WRITE,
          ("Cannot subscribe to %s on the signalling bus %s", subject.c_str (),
              bus_->describe ().c_str ()), (nullptr));
      return false;
    }
    subscriptions_.push_back (std::move (subscription));
  }
  return true;
}

/* From the streaming thread that used up a key's last counter: the worker
 * rotates, if the key is still ours. Queued as a command, so it does not
 * wait behind bus traffic. */
static void
on_key_exhausted (GstSFrameKeyStore *, guint64 key_id, gpointer data)
{
  auto queue = static_cast<std::weak_ptr<EventQueue> *> (data)->lock ();
  if (!queue)
    return;
  Event event;
  event.kind = EventKind::rotate;
  event.key_id = key_id;
  queue->push (std::move (event));
}

static void
free_queue_ref (gpointer data, GClosure *)
{
  delete static_cast<std::weak_ptr<EventQueue> *> (data);
}

/* Everything up to the worker: key store, bus, provider, subscriptions,
 * hello. The worker is not running yet, so this thread may use the
 * provider. */
bool
Session::open (const Settings & s, sframe::room::Config & config)
{
  store_ = gst_sframe_key_store_obtain (element_, room_.c_str ());
  exhausted_handler_ = g_signal_connect_data (store_, "key-exhausted", G_CALLBACK (on_key_exhausted),
      new std::weak_ptr<EventQueue> (queue_), free_queue_ref, (GConnectFlags) 0);
  if (!open_bus (s.bus, s.bus_security))
    return false;
  auto now = clock_now ();
  sframe::Result made = sframe::room::make_sender_key_provider (config, this, now, &provider_);
  if (!made.ok ()) {
    GST_ELEMENT_ERROR (element_, RESOURCE, NOT_AUTHORIZED, ("Cannot join room %s: %s",
            room_.c_str (), made.message.c_str ()), (nullptr));
    return false;
  }
  {
    std::string role = token_role (config, now);
    std::lock_guard<std::mutex> lock (shared_->view_lock);
    shared_->view.role = role;
  }
  if (!subscribe ())
    return false;
  auto status = provider_->start (now);
  if (status != sframe::Status::ok) {
    GST_ELEMENT_ERROR (element_, RESOURCE, OPEN_READ_WRITE, ("Cannot announce this device in room %s",
            room_.c_str ()), ("%s", sframe::status_name (status)));
    return false;
  }
  GST_INFO_OBJECT (element_, "joining room %s on %s", room_.c_str (), bus_->describe ().c_str ());
  return true;
}

std::unique_ptr<Session>
Session::start (GstElement * element, const Settings & s, Shared * shared)
{
  auto counters = std::make_shared<BusCounters> ();
  {
    std::lock_guard<std::mutex> lock (shared->view_lock);
    shared->view = View ();
    shared->counters = counters;
  }
  sframe::room::Config config;
  std::unique_ptr<Session> session (new Session (element, s, shared, counters));
  if (!load_config (element, s, &config) || !session->open (s, config))
    return nullptr;
  if (s.token.empty () && !s.token_file.empty ())
    session->token_file_ = TokenFileWatch (s.token_file);
  session->worker_ = std::thread (&Session::run, session.get ());
  return session;
}

void
Session::run ()
{
  GST_DEBUG_OBJECT (element_, "worker running");
  auto now = clock_now ();
  int64_t next = provider_->tick (now);
  int64_t last_tick = now.ms, last_roster = now.ms;
  int64_t next_stats = stats_ms_ ? now.ms + stats_ms_ : INT64_MAX;
  bool handled = false;   /* events since the last tick */
  refresh_view ();
  std::deque<Event> events;
  for (;;) {
    /* A tick walks every member, so it runs when a timer is due, or at
     * most every kTickGapMs after events (which may have moved a timer
     * earlier), not after every message: at N members a rotation brings
     * each worker ~2N messages. */
    int64_t deadline = handled ? std::min (next, last_tick + kTickGapMs) : next;
    deadline = std::min (deadline, next_stats);
    queue_->wait (wake_time (deadline, now.ms), events);
    while (!events.empty ()) {
      queue_->take_commands (events);
      Event event = std::move (events.front ());
      events.pop_front ();
      bool command = is_command (event.kind);
      if (!handle (event)) {
        finish (events);
        return;
      }
      handled = true;
      if (command) {
        /* What it asked for (a commit, for admit and revoke) is done by a
         * tick: now, not after the rest of the batch. */
        now = clock_now ();
        next = provider_->tick (now);
        last_tick = now.ms;
      }
    }
    now = clock_now ();
    renew_from_token_file (now);
    if (now.ms >= next || (handled && now.ms >= last_tick + kTickGapMs)) {
      next = provider_->tick (now);
      last_tick = now.ms;
      handled = false;
    }
    /* roster_changed () keeps the roster view current (kRosterRefreshMs). */
    bool with_roster = now.ms >= last_roster + kRosterRefreshMs;
    if (with_roster)
      last_roster = now.ms;
    refresh_view (with_roster);
    if (now.ms >= next_stats) {
      post_stats ();
      next_stats = now.ms + stats_ms_;
    }
  }
}

/* A new token in token-file renews our membership (same member, name, role
 * and grants) before the old one expires. */
void
Session::renew_from_token_file (const sframe::room::Now & now)
{
  sframe::SecureBytes token;
  if (!token_file_.poll (now.ms, &token))
    return;
  std::string text (reinterpret_cast<const char *> (token.data ()), token.size ());
  if (provider_->renew_token (text, now) == sframe::Status::ok)
    GST_INFO_OBJECT (element_, "renewed this device's token from %s", token_file_.path ().c_str ());
  else
    GST_ELEMENT_WARNING (element_, RESOURCE, SETTINGS, ("Token file %s changed, but its token does not renew "
            "this membership (expired, another room, member, role or grants)", token_file_.path ().c_str ()),
        (nullptr));
}

bool
Session::handle (Event & event)
{
  auto now = clock_now ();
  sframe::Status status = sframe::Status::ok;
  switch (event.kind) {
    case EventKind::message:
      provider_->receive (subjects_[event.topic], {event.payload.data (), event.payload.size ()}, now);
      return true;
    case EventKind::reconnected:
      GST_INFO_OBJECT (element_, "bus reconnected: resynchronising");
      provider_->reconnected (now);
      return true;
    case EventKind::admit:
      status = provider_->admit (event.subject, now);
      break;
    case EventKind::revoke:
      status = provider_->revoke (event.subject, now);
      break;
    case EventKind::rotate:
      if (event.key_id && !(sender_set_ && sender_key_id_ == event.key_id))
        return true;   /* a key we no longer send with */
      if (event.key_id)
        GST_WARNING_OBJECT (element_, "key %" G_GUINT64_FORMAT " used up: rotating", (guint64) event.key_id);
      status = provider_->rotate (now);
      break;
    case EventKind::stop:
      provider_->leave (now);
      if (event.done)
        event.done->set_value (true);
      return false;
  }
  if (status != sframe::Status::ok) {
    GST_WARNING_OBJECT (element_, "%s %s refused: %s", event_name (event.kind), event.subject.c_str (),
        sframe::status_name (status));
  }
  if (event.done)
    event.done->set_value (status == sframe::Status::ok);
  return true;
}

/* After stop: commands still waiting get FALSE; a worker stopped from its
 * own thread also tears the state down. */
void
Session::finish (std::deque<Event> & unhandled)
{
  std::deque<Event> rest = queue_->close ();
  unhandled.insert (unhandled.end (), std::make_move_iterator (rest.begin ()),
      std::make_move_iterator (rest.end ()));
  for (Event & event : unhandled) {
    if (event.done)
      event.done->set_value (false);
  }
  refresh_view (false);   /* the final counters; the roster is gone */
  GST_DEBUG_OBJECT (element_, "worker done");
  if (detached_) {
    GstElement *element = element_;
    delete this;
    gst_object_unref (element);
  }
}

bool
Session::stop ()
{
  if (!worker_.joinable ())
    return false;
  Event event;
  event.kind = EventKind::stop;
  if (std::this_thread::get_id () == worker_.get_id ()) {
    /* Stopped from a handler of one of our own messages: the worker is
     * inside the provider, so it finishes that step, leaves and deletes
     * this state itself. */
    detached_ = true;
    gst_object_ref (element_);
    worker_.detach ();
    queue_->push (std::move (event));
    return true;
  }
  queue_->push (std::move (event));
  worker_.join ();
  return false;
}

void
Session::refresh_view (bool with_roster)
{
  sframe::room::Stats stats = provider_->stats ();
  sframe::room::RosterView roster;
  if (with_roster)
    roster = provider_->roster ();
  std::lock_guard<std::mutex> lock (shared_->view_lock);
  shared_->view.stats = stats;
  if (with_roster)
    shared_->view.roster = std::move (roster);
}

void
Session::forget_keys ()
{
  if (!store_)
    return;
  guint64 current = 0;
  if (sender_set_ && gst_sframe_key_store_get_sender_key (store_, &current) && current == sender_key_id_)
    gst_sframe_key_store_get_ring (store_).clear_sender ();
  for (uint64_t key_id : installed_)
    gst_sframe_key_store_remove_key (store_, key_id);
  GST_DEBUG_OBJECT (element_, "removed %zu key(s) from room %s", installed_.size (), room_.c_str ());
  installed_.clear ();
  sender_set_ = false;
}

Session::~Session ()
{
  /* No handler runs after its subscription is gone; the provider may still
   * publish while it is destroyed, so the bus goes last. */
  subscriptions_.clear ();
  provider_.reset ();
  bus_.reset ();
  forget_keys ();
  if (store_ && exhausted_handler_)
    g_signal_handler_disconnect (store_, exhausted_handler_);
  gst_clear_object (&store_);
}

/* ------------------------------------------------------------------------
 * KeyProviderOutputs */

void
Session::post (GstStructure * structure)
{
  gst_element_post_message (element_,
      gst_message_new_element (GST_OBJECT (element_), structure));
}

void
Session::post_stats ()
{
  MediaStats media = collect_media_stats (element_, store_);
  sframe::room::Stats stats = provider_->stats ();
  GstStructure *message;
  {
    std::lock_guard<std::mutex> lock (shared_->view_lock);
    message = stats_message_structure (room_, shared_->view.roster, stats,
        bus_stats (shared_->view.bus, *counters_), media);
  }
  post (message);
}

void
Session::publish (const std::string & subject, const std::vector<uint8_t> & payload)
{
  if (!bus_)
    return;
  auto status = bus_->publish (subject, {payload.data (), payload.size ()});
  if (status != sframe::Status::ok) {
    counters_->publish_failures++;
    GST_DEBUG_OBJECT (element_, "publish on %s failed: %s", subject.c_str (), sframe::status_name (status));
  }
}

void
Session::install_key (uint64_t key_id, const sframe::SecureBytes & base_key, const sframe::room::MemberInfo & owner)
{
  GError *error = nullptr;
  if (!gst_sframe_key_store_add_key (store_, suite_, key_id, base_key.data (), base_key.size (), &error)) {
    /* The store's message names the key id and the reason, never the key. */
    GST_ELEMENT_WARNING (element_, LIBRARY, SETTINGS, ("Cannot install an SFrame key"),
        ("%s", error ? error->message : "?"));
    g_clear_error (&error);
    return;
  }
  installed_.insert (key_id);
  gst_sframe_key_store_set_key_owner (store_, key_id, owner.member_id.c_str (), owner.display_name.c_str (),
      owner.fingerprint.c_str ());
  GST_DEBUG_OBJECT (element_, "installed key %" G_GUINT64_FORMAT " of %s", (guint64) key_id,
      owner.fingerprint.substr (0, 16).c_str ());
}

void
Session::install_own_key (uint64_t key_id, const sframe::SecureBytes & base_key)
{
  /* The provider drew this key from the CSPRNG: the store may send with it. */
  auto status = gst_sframe_key_store_get_ring (store_).add_own_key (
      gst_sframe_core_suite (suite_), key_id, base_key.view ());
  if (status != sframe::Status::ok) {
    GST_ELEMENT_WARNING (element_, LIBRARY, SETTINGS, ("Cannot install an SFrame key"),
        ("key %" G_GUINT64_FORMAT ": %s", (guint64) key_id, sframe::status_name (status)));
    return;
  }
  installed_.insert (key_id);
  GST_DEBUG_OBJECT (element_, "installed own key %" G_GUINT64_FORMAT, (guint64) key_id);
}

void
Session::remove_key (uint64_t key_id)
{
  gst_sframe_key_store_remove_key (store_, key_id);
  installed_.erase (key_id);
  GST_DEBUG_OBJECT (element_, "removed key %" G_GUINT64_FORMAT, (guint64) key_id);
}

void
Session::set_sender_key (uint64_t key_id)
{
  GError *error = nullptr;
  if (!gst_sframe_key_store_set_sender_key (store_, key_id, &error)) {
    GST_ELEMENT_WARNING (element_, LIBRARY, SETTINGS, ("Cannot switch to a new sender key"),
        ("%s", error ? error->message : "?"));
    g_clear_error (&error);
    return;
  }
  sender_set_ = true;
  sender_key_id_ = key_id;
  GST_DEBUG_OBJECT (element_, "sending with key %" G_GUINT64_FORMAT, (guint64) key_id);
}

void
Session::clear_sender_key ()
{
  /* Fail closed: whatever the sender key was, our encoders must stop. */
  gst_sframe_key_store_get_ring (store_).clear_sender ();
  sender_set_ = false;
  GST_DEBUG_OBJECT (element_, "sender key cleared");
}

void
Session::roster_changed (sframe::room::RosterView roster)
{
  GST_INFO_OBJECT (element_, "room %s epoch %" G_GUINT64_FORMAT ": %zu member(s), %zu waiting",
      room_.c_str (), (guint64) roster.epoch, roster.members.size (), roster.lobby.size ());
  GstStructure *message = keymanager::roster_structure (room_, roster);
  {
    std::lock_guard<std::mutex> lock (shared_->view_lock);
    shared_->view.roster = std::move (roster);
  }
  post (message);
}

void
Session::member_refused (const std::string & who, sframe::room::Refusal reason, const std::string & detail)
{
  GST_WARNING_OBJECT (element_, "refused %s: %s (%s)", who.c_str (), sframe::room::refusal_name (reason),
      detail.c_str ());
  post (keymanager::member_refused_structure (room_, who, reason, detail));
}

void
Session::key_rotated (uint64_t key_id, const std::string & reason)
{
  GST_INFO_OBJECT (element_, "new sender key %" G_GUINT64_FORMAT " (%s)", (guint64) key_id, reason.c_str ());
  post (keymanager::key_rotated_structure (room_, key_id, reason));
}

void
Session::left (const std::string & reason)
{
  post (keymanager::left_structure (room_, reason));
  GST_ELEMENT_WARNING (element_, RESOURCE, NOT_AUTHORIZED, ("Left SFrame room %s: %s", room_.c_str (),
          reason.c_str ()), (nullptr));
}

}  // namespace keymanager
