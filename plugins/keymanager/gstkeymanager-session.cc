#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstkeymanager-session.h"

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/keyring.h>

#include <glib/gstdio.h>

#include <cstring>

GST_DEBUG_CATEGORY_EXTERN (gst_key_manager_debug);
#define GST_CAT_DEFAULT gst_key_manager_debug

namespace keymanager {

namespace {

using Clock = std::chrono::steady_clock;

/* How long an action signal waits for the worker. */
constexpr auto kCommandTimeout = std::chrono::seconds (5);
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

void
wipe (std::string & secret)
{
  if (!secret.empty ())
    sframe::secure_wipe (&secret[0], secret.size ());
  secret.clear ();
}

}  // namespace

const char *
event_name (EventKind kind)
{
  switch (kind) {
    case EventKind::message: return "message";
    case EventKind::reconnected: return "reconnected";
    case EventKind::admit: return "admit";
    case EventKind::revoke: return "revoke";
    case EventKind::rotate: return "rotate";
    case EventKind::stop: return "stop";
  }
  return "?";
}

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
 * EventQueue */

EventQueue::Outcome
EventQueue::push (Event event)
{
  {
    std::lock_guard<std::mutex> lock (lock_);
    if (closed_)
      return Outcome::closed;
    if (event.kind == EventKind::message) {
      if (messages_ >= kMaxMessages || bytes_ + event.payload.size () > kMaxBytes)
        return Outcome::full;
      messages_++;
      bytes_ += event.payload.size ();
    }
    /* The worker only sleeps on an empty queue: waking it for every
     * message of a burst costs a futex call each. On a bus thread
     * delivering in rounds the wake waits for the end of the round
     * (sframe::DeliveryRound): one per round, however many messages the
     * round brought. */
    bool wake = events_.empty () && commands_.empty () && !wake_pending_;
    if (is_command (event.kind)) {
      commands_.push_back (std::move (event));
      commands_waiting_.store (true, std::memory_order_release);
    } else {
      events_.push_back (std::move (event));
    }
    if (!wake)
      return Outcome::queued;
    wake_pending_ = true;
  }
  /* Outside the lock: outside a round the wake runs right here. */
  sframe::DeliveryRound::wake_later ([self = shared_from_this ()] { self->wake (); });
  return Outcome::queued;
}

void
EventQueue::wake ()
{
  std::lock_guard<std::mutex> lock (lock_);
  wake_pending_ = false;
  cond_.notify_one ();
}

void
EventQueue::wait (Clock::time_point deadline, std::deque<Event> & events)
{
  std::unique_lock<std::mutex> lock (lock_);
  cond_.wait_until (lock, deadline, [this] { return !events_.empty () || !commands_.empty (); });
  take_locked (events);
}

void
EventQueue::take_commands (std::deque<Event> & events)
{
  if (!commands_waiting_.load (std::memory_order_acquire))
    return;
  std::lock_guard<std::mutex> lock (lock_);
  move_commands_locked (events);
}

void
EventQueue::move_commands_locked (std::deque<Event> & events)
{
  events.insert (events.begin (), std::make_move_iterator (commands_.begin ()),
      std::make_move_iterator (commands_.end ()));
  commands_.clear ();
  commands_waiting_.store (false, std::memory_order_relaxed);
}

std::deque<Event>
EventQueue::close ()
{
  std::lock_guard<std::mutex> lock (lock_);
  closed_ = true;
  std::deque<Event> rest;
  take_locked (rest);
  return rest;
}

void
EventQueue::take_locked (std::deque<Event> & events)
{
  events.swap (events_);
  move_commands_locked (events);
  messages_ = 0;
  bytes_ = 0;
}

/* ------------------------------------------------------------------------
 * Loading the configuration */

/* One URI without its user information (credentials). */
static std::string
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

/* A bus URI (or a comma-separated list of them) fit for messages. */
static std::string
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

static bool
load_identity (GstElement * self, const Settings & s, sframe::Identity * identity)
{
  if (s.identity.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("No device identity: set identity=FILE"),
        ("create one with: gst-sframe-keytool identity new FILE"));
    return false;
  }
  sframe::KeyFileResult r = sframe::Identity::load (s.identity, identity);
  if (!r.ok ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", r.message.c_str ()),
        ("identity %s: %s", s.identity.c_str (), sframe::key_file_status_name (r.status)));
    return false;
  }
  GST_INFO_OBJECT (self, "device %s", identity->short_fingerprint ().c_str ());
  return true;
}

/* The token file's content without surrounding whitespace. */
static bool
read_token_file (GstElement * self, const std::string & path, std::string * token)
{
  GStatBuf st;
  if (g_stat (path.c_str (), &st) == 0 && (st.st_mode & 077) != 0) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("Token file %s is readable by others; a token is a credential until used: chmod 600 %s",
            path.c_str (), path.c_str ()), (nullptr));
  }
  gchar *contents = nullptr;
  gsize length = 0;
  GError *error = nullptr;
  if (!g_file_get_contents (path.c_str (), &contents, &length, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("Cannot read token file %s", path.c_str ()),
        ("%s", error->message));
    g_clear_error (&error);
    return false;
  }
  std::string text (contents, length);
  sframe::secure_wipe (contents, length);
  g_free (contents);
  size_t begin = text.find_first_not_of (" \t\r\n");
  size_t end = text.find_last_not_of (" \t\r\n");
  if (begin != std::string::npos)
    *token = text.substr (begin, end - begin + 1);
  wipe (text);
  if (token->empty () || token->size () > sframe::token::kMaxTokenSize) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Token file %s does not hold a join token", path.c_str ()),
        ("expected one token of 1 to %zu characters", sframe::token::kMaxTokenSize));
    wipe (*token);
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
load_token (GstElement * self, const Settings & s, std::string * token)
{
  if (!s.token.empty ()) {
    token->assign (reinterpret_cast<const char *> (s.token.data ()), s.token.size ());
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
  sframe::KeyFileResult r = sframe::load_public_key (s.authority, key);
  if (!r.ok ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", r.message.c_str ()),
        ("authority %s: %s", s.authority.c_str (), sframe::key_file_status_name (r.status)));
    return false;
  }
  return true;
}

static bool
load_config (GstElement * self, const Settings & s, sframe::room::Config * config)
{
  config->room = s.room;
  config->require_admission = s.require_admission;
  config->suite = static_cast<sframe::CipherSuite> (s.suite);
  config->timing.discovery_ms = s.discovery_ms;
  config->timing.switch_timeout_ms = s.switch_ms;
  config->timing.grace_ms = s.grace_ms;
  config->timing.heartbeat_ms = s.heartbeat_ms;
  config->timing.liveness_ms = s.liveness_ms;
  config->timing.ack_delay_ms = s.ack_delay_ms;
  return load_identity (self, s, &config->identity) && load_token (self, s, &config->token) &&
      load_authority (self, s, &config->authority);
}

/* Our own role, as the token grants it. The provider verifies the token as
 * well (and refuses to start without a valid one); this copy is for the
 * `role` property only. */
static std::string
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

/* ------------------------------------------------------------------------
 * Session: start, worker, stop */

bool
Session::open_bus (const std::string & uri, const sframe::BusSecurity & security)
{
  std::string error;
  bus_ = sframe::open_bus (uri, security, &error);
  if (!bus_) {
    GST_ELEMENT_ERROR (element_, RESOURCE, OPEN_READ_WRITE,
        ("Cannot open the signalling bus %s: %s", redact_bus_uri (uri).c_str (), error.c_str ()),
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

/* Everything up to the worker: key store, bus, provider, subscriptions,
 * hello. The worker is not running yet, so this thread may use the
 * provider. */
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

bool
Session::open (const Settings & s, sframe::room::Config & config)
{
  store_ = gst_sframe_key_store_obtain (element_, room_.c_str ());
  exhausted_handler_ = g_signal_connect_data (store_, "key-exhausted", G_CALLBACK (on_key_exhausted),
      new std::weak_ptr<EventQueue> (queue_), free_queue_ref, (GConnectFlags) 0);
  if (!open_bus (s.bus, s.bus_security))
    return false;
  auto now = clock_now ();
  std::string error;
  provider_ = sframe::room::make_sender_key_provider (config, this, now, &error);
  if (!provider_) {
    GST_ELEMENT_ERROR (element_, RESOURCE, NOT_AUTHORIZED, ("Cannot join room %s: %s",
            room_.c_str (), error.c_str ()), (nullptr));
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
  bool ok = load_config (element, s, &config) && session->open (s, config);
  wipe (config.token);
  if (!ok)
    return nullptr;
  if (s.token.empty () && !s.token_file.empty ()) {
    session->token_file_ = s.token_file;
    session->token_file_stamp_ = file_stamp (s.token_file);
  }
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

/* FALSE after stop. */
/* At most once a second: a new token in token-file renews our membership
 * (same member, name, role and grants), before the old one expires. */
void
Session::renew_from_token_file (const sframe::room::Now & now)
{
  if (token_file_.empty () || now.ms < next_token_check_ms_)
    return;
  next_token_check_ms_ = now.ms + 1000;
  std::string stamp = file_stamp (token_file_);
  if (stamp.empty () || stamp == token_file_stamp_)
    return;
  token_file_stamp_ = stamp;
  gchar *contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents (token_file_.c_str (), &contents, &length, nullptr))
    return;
  std::string text (contents, length);
  sframe::secure_wipe (contents, length);
  g_free (contents);
  size_t begin = text.find_first_not_of (" \t\r\n"), end = text.find_last_not_of (" \t\r\n");
  std::string token = begin == std::string::npos ? std::string () : text.substr (begin, end - begin + 1);
  wipe (text);
  if (provider_->renew_token (token, now) == sframe::Status::ok)
    GST_INFO_OBJECT (element_, "renewed this device's token from %s", token_file_.c_str ());
  else
    GST_ELEMENT_WARNING (element_, RESOURCE, SETTINGS, ("Token file %s changed, but its token does not renew "
            "this membership (expired, another room, member, role or grants)", token_file_.c_str ()), (nullptr));
  wipe (token);
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

bool
send_command (GstElement * element, const CommandChannel & channel, EventKind kind, const std::string & who)
{
  if (channel.worker == std::this_thread::get_id ()) {
    GST_WARNING_OBJECT (element, "%s from a handler of a keymanager message: emit it from another thread",
        event_name (kind));
    return false;
  }
  auto done = std::make_shared<std::promise<bool>> ();
  std::future<bool> result = done->get_future ();
  Event event;
  event.kind = kind;
  event.subject = who;
  event.done = done;
  if (channel.queue->push (std::move (event)) != EventQueue::Outcome::queued)
    return false;
  if (result.wait_for (kCommandTimeout) != std::future_status::ready) {
    GST_WARNING_OBJECT (element, "%s: no answer from the worker", event_name (kind));
    return false;
  }
  return result.get ();
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

/* The counters of one sframeenc or sframedec, if it uses our key store:
 * read through its public properties, so any element with a `key-store`
 * and a `stats` of the same shapes counts. */
static void
add_media_stats (GstElement * element, GstSFrameKeyStore * ours, MediaStats * media)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (element);
  GParamSpec *store_spec = g_object_class_find_property (klass, "key-store");
  GParamSpec *stats_spec = g_object_class_find_property (klass, "stats");
  if (!store_spec || !stats_spec || store_spec->value_type != GST_TYPE_SFRAME_KEY_STORE ||
      stats_spec->value_type != GST_TYPE_STRUCTURE)
    return;
  GstSFrameKeyStore *store = nullptr;
  g_object_get (element, "key-store", &store, nullptr);
  bool same = store == ours;
  gst_clear_object (&store);
  if (!same)
    return;
  GstStructure *stats = nullptr;
  g_object_get (element, "stats", &stats, nullptr);
  if (!stats)
    return;
  auto get = [stats] (const char *field) {
    guint64 v = 0;
    gst_structure_get_uint64 (stats, field, &v);
    return v;
  };
  if (gst_structure_has_name (stats, "application/x-sframe-enc-stats")) {
    media->encoders++;
    media->frames_encrypted += get ("frames");
    media->encrypt_dropped += get ("dropped");
  } else if (gst_structure_has_name (stats, "application/x-sframe-dec-stats")) {
    media->decoders++;
    media->frames_decrypted += get ("frames");
    media->decrypt_dropped += get ("dropped");
    media->auth_failures += get ("auth-failures");
    media->unknown_key += get ("unknown-key");
    media->replayed += get ("replayed");
  }
  gst_structure_free (stats);
}

/* Sums the media elements of our pipeline (the top-level bin we are in)
 * that share this room's key store. */
MediaStats
Session::media_stats ()
{
  MediaStats media;
  GstObject *top = GST_OBJECT (gst_object_ref (element_));
  while (GstObject *parent = gst_object_get_parent (top)) {
    gst_object_unref (top);
    top = parent;
  }
  if (!store_ || !GST_IS_BIN (top)) {
    gst_object_unref (top);
    return media;
  }
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (top));
  GValue item = G_VALUE_INIT;
  bool more = true;
  while (more) {
    switch (gst_iterator_next (it, &item)) {
      case GST_ITERATOR_OK:
        add_media_stats (GST_ELEMENT (g_value_get_object (&item)), store_, &media);
        g_value_reset (&item);
        break;
      case GST_ITERATOR_RESYNC:
        media = MediaStats ();
        gst_iterator_resync (it);
        break;
      default:
        more = false;
        break;
    }
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  gst_object_unref (top);
  return media;
}

void
Session::post_stats ()
{
  MediaStats media = media_stats ();
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
Session::install_key (uint64_t key_id, const sframe::SecureBytes & base_key)
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
  GST_DEBUG_OBJECT (element_, "installed key %" G_GUINT64_FORMAT, (guint64) key_id);
}

void
Session::install_own_key (uint64_t key_id, const sframe::SecureBytes & base_key)
{
  /* The provider drew this key from the CSPRNG: the store may send with it. */
  auto status = gst_sframe_key_store_get_ring (store_).add_own_key (
      static_cast<sframe::CipherSuite> (suite_), key_id, base_key.view ());
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
