#include <gst/sframe/bus/bus-local.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace sframe {
namespace localbus {

Hub::~Hub () = default;

namespace {

struct Subscriber {
  explicit Subscriber (std::string s, Bus::Handler h) : subject (std::move (s)), handler (std::move (h)) {}

  const std::string subject;
  Bus::Handler handler;
  bool active = true;  /* under Dispatcher::lock */
};

/* Messages delivered per round (DeliveryRound) at most: bounds how long
 * a consumer's wake-up may wait behind other subscribers' messages (about
 * 10 ms at 2 us a message) and how often a busy room wakes each worker:
 * at N = 200 a leave is 40,000 messages, and smaller rounds make the
 * wake-ups a visible share of the CPU (docs/performance-log.md). */
constexpr size_t kRoundMessages = 4096;

struct Queued {
  Message message;
  bool intercept;  /* published (true) or injected / released (false) */
};

/* The state the dispatch thread works on. It is shared with the thread so
 * that the hub may be destroyed on that very thread (from inside a
 * handler): the thread then finishes on its own. */
class Dispatcher {
public:
  void run ();
  void stop ();

  void enqueue (Message message, bool intercept);
  void publish (Message message);
  std::shared_ptr<Subscriber> add (const std::string & subject, Bus::Handler handler);
  void remove (const std::shared_ptr<Subscriber> & subscriber);

  void set_interceptor (Interceptor interceptor);
  void release_held (const std::vector<size_t> & order);
  size_t held_count () const;
  void set_logging (bool enabled);
  std::vector<Message> log () const;
  void flush ();
  uint64_t delivered () const;
  void set_thread (std::thread::id id);

private:
  bool on_dispatch_thread () const { return std::this_thread::get_id () == thread_; }
  void process (std::unique_lock<std::mutex> & lock, Queued & item);
  void deliver (std::unique_lock<std::mutex> & lock, const Message & message);

  mutable std::mutex lock_;
  std::condition_variable work_;      /* something queued, or stopping */
  std::condition_variable progress_;  /* a message or a handler call finished */
  std::thread::id thread_;
  std::deque<Queued> queue_;
  std::vector<Message> held_;
  std::shared_ptr<Interceptor> interceptor_;
  std::multimap<std::string, std::shared_ptr<Subscriber>> subscribers_;
  std::vector<std::shared_ptr<Subscriber>> spare_targets_;   /* deliver ()'s, under lock_ */
  bool logging_ = false;
  std::vector<Message> log_;
  bool stopping_ = false;
  bool busy_ = false;                 /* a message is out of the queue, not yet handed to every handler */
  const Subscriber *running_ = nullptr;
  uint64_t delivered_ = 0;
};

void
Dispatcher::set_thread (std::thread::id id)
{
  std::lock_guard<std::mutex> lock (lock_);
  thread_ = id;
}

void
Dispatcher::run ()
{
  std::unique_lock<std::mutex> lock (lock_);
  while (true) {
    work_.wait (lock, [this] { return stopping_ || !queue_.empty (); });
    if (stopping_)
      break;
    busy_ = true;
    {
      /* Handlers wake their consumers once per round, not per message. */
      DeliveryRound round;
      for (size_t n = 0; n < kRoundMessages && !stopping_ && !queue_.empty (); n++) {
        Queued item = std::move (queue_.front ());
        queue_.pop_front ();
        process (lock, item);
      }
      lock.unlock ();
      round.finish ();
      lock.lock ();
    }
    busy_ = false;
    progress_.notify_all ();
  }
  queue_.clear ();
  held_.clear ();
}

void
Dispatcher::stop ()
{
  std::lock_guard<std::mutex> lock (lock_);
  stopping_ = true;
  work_.notify_all ();
  progress_.notify_all ();
}

/* Called and returns with `lock` held; drops it around user code. */
void
Dispatcher::process (std::unique_lock<std::mutex> & lock, Queued & item)
{
  if (item.intercept && interceptor_) {
    /* Held by pointer: set_interceptor () from inside it must not destroy
     * the object that is running. */
    std::shared_ptr<Interceptor> interceptor = interceptor_;
    lock.unlock ();
    Verdict verdict = Verdict::drop;
    try {
      verdict = (*interceptor) (item.message);
    } catch (...) {
      /* A failing test interceptor loses the message, nothing more. */
    }
    lock.lock ();
    if (stopping_ || verdict == Verdict::drop)
      return;
    if (verdict == Verdict::hold) {
      held_.push_back (std::move (item.message));
      return;
    }
  }
  deliver (lock, item.message);
}

void
Dispatcher::deliver (std::unique_lock<std::mutex> & lock, const Message & message)
{
  /* The vector is kept between messages (one allocation, not one per
   * message); a nested call would find it taken and use its own. */
  std::vector<std::shared_ptr<Subscriber>> targets;
  targets.swap (spare_targets_);
  auto range = subscribers_.equal_range (message.subject);
  for (auto it = range.first; it != range.second; ++it)
    targets.push_back (it->second);

  ByteView payload (message.payload.data (), message.payload.size ());
  for (const auto & target : targets) {
    /* Checked under the lock just before the call: a subscription ended
     * meanwhile (even by the previous handler) is skipped. */
    if (stopping_ || !target->active)
      continue;
    running_ = target.get ();
    lock.unlock ();
    try {
      target->handler (message.subject, payload);
    } catch (...) {
      /* Exceptions stop here, not in std::thread (which would abort). */
    }
    lock.lock ();
    running_ = nullptr;
    delivered_++;
    progress_.notify_all ();
  }
  targets.clear ();
  spare_targets_.swap (targets);
}

void
Dispatcher::enqueue (Message message, bool intercept)
{
  std::lock_guard<std::mutex> lock (lock_);
  if (stopping_)
    return;
  queue_.push_back ({std::move (message), intercept});
  work_.notify_one ();
}

void
Dispatcher::publish (Message message)
{
  std::lock_guard<std::mutex> lock (lock_);
  if (stopping_)
    return;
  if (logging_)
    log_.push_back (message);
  queue_.push_back ({std::move (message), true});
  work_.notify_one ();
}

std::shared_ptr<Subscriber>
Dispatcher::add (const std::string & subject, Bus::Handler handler)
{
  auto subscriber = std::make_shared<Subscriber> (subject, std::move (handler));
  std::lock_guard<std::mutex> lock (lock_);
  subscribers_.emplace (subject, subscriber);
  return subscriber;
}

void
Dispatcher::remove (const std::shared_ptr<Subscriber> & subscriber)
{
  Bus::Handler handler;
  {
    std::unique_lock<std::mutex> lock (lock_);
    subscriber->active = false;
    auto range = subscribers_.equal_range (subscriber->subject);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == subscriber) {
        subscribers_.erase (it);
        break;
      }
    }
    /* On the dispatch thread no handler runs but the caller (if it is this
     * subscriber's own handler, it is left to finish). */
    if (!on_dispatch_thread ())
      progress_.wait (lock, [&] { return running_ != subscriber.get (); });
    if (running_ != subscriber.get ())
      handler = std::move (subscriber->handler);
  }
  /* Whatever the handler captured is released here, outside the lock. */
}

void
Dispatcher::set_interceptor (Interceptor interceptor)
{
  std::shared_ptr<Interceptor> next;
  if (interceptor)
    next = std::make_shared<Interceptor> (std::move (interceptor));
  std::lock_guard<std::mutex> lock (lock_);
  interceptor_.swap (next);
}

void
Dispatcher::release_held (const std::vector<size_t> & order)
{
  std::lock_guard<std::mutex> lock (lock_);
  if (stopping_)
    return;
  std::vector<Message> release;
  if (order.empty ()) {
    release.swap (held_);
  } else {
    std::vector<bool> listed (held_.size (), false);
    for (size_t index : order) {
      if (index < held_.size ()) {
        release.push_back (held_[index]);
        listed[index] = true;
      }
    }
    std::vector<Message> kept;
    for (size_t i = 0; i < held_.size (); i++) {
      if (!listed[i])
        kept.push_back (std::move (held_[i]));
    }
    held_.swap (kept);
  }
  for (auto & message : release)
    queue_.push_back ({std::move (message), false});
  work_.notify_one ();
}

size_t
Dispatcher::held_count () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return held_.size ();
}

void
Dispatcher::set_logging (bool enabled)
{
  std::lock_guard<std::mutex> lock (lock_);
  logging_ = enabled;
}

std::vector<Message>
Dispatcher::log () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return log_;
}

void
Dispatcher::flush ()
{
  std::unique_lock<std::mutex> lock (lock_);
  /* The dispatch thread would wait for itself. */
  if (on_dispatch_thread ())
    return;
  progress_.wait (lock, [this] { return stopping_ || (queue_.empty () && !busy_); });
}

uint64_t
Dispatcher::delivered () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return delivered_;
}

class HubImpl final : public Hub {
public:
  HubImpl () : dispatcher_ (std::make_shared<Dispatcher> ())
  {
    std::shared_ptr<Dispatcher> dispatcher = dispatcher_;
    thread_ = std::thread ([dispatcher] { dispatcher->run (); });
    dispatcher_->set_thread (thread_.get_id ());
  }

  ~HubImpl () override
  {
    dispatcher_->stop ();
    /* The last owner may be a handler on the dispatch thread itself. */
    if (thread_.get_id () == std::this_thread::get_id ())
      thread_.detach ();
    else
      thread_.join ();
  }

  void set_interceptor (Interceptor interceptor) override { dispatcher_->set_interceptor (std::move (interceptor)); }
  void release_held (const std::vector<size_t> & order) override { dispatcher_->release_held (order); }
  size_t held_count () const override { return dispatcher_->held_count (); }
  void inject (const Message & message) override { dispatcher_->enqueue (message, false); }
  void set_logging (bool enabled) override { dispatcher_->set_logging (enabled); }
  std::vector<Message> log () const override { return dispatcher_->log (); }
  void flush () override { dispatcher_->flush (); }
  uint64_t delivered () const override { return dispatcher_->delivered (); }

  Dispatcher & dispatcher () { return *dispatcher_; }

private:
  std::shared_ptr<Dispatcher> dispatcher_;
  std::thread thread_;
};

class LocalSubscription final : public BusSubscription {
public:
  LocalSubscription (std::shared_ptr<HubImpl> hub, std::shared_ptr<Subscriber> subscriber)
      : hub_ (std::move (hub)), subscriber_ (std::move (subscriber)) {}

  ~LocalSubscription () override { hub_->dispatcher ().remove (subscriber_); }

private:
  std::shared_ptr<HubImpl> hub_;
  std::shared_ptr<Subscriber> subscriber_;
};

class LocalBus final : public Bus {
public:
  LocalBus (std::string name, std::shared_ptr<HubImpl> hub) : name_ (std::move (name)), hub_ (std::move (hub)) {}

  Status publish (const std::string & subject, ByteView payload) override
  {
    if (!is_subject (subject) || (payload.data == nullptr && payload.size != 0))
      return Status::invalid_argument;
    Message message;
    message.subject = subject;
    if (payload.size)
      message.payload.assign (payload.data, payload.data + payload.size);
    hub_->dispatcher ().publish (std::move (message));
    return Status::ok;
  }

  std::unique_ptr<BusSubscription> subscribe (const std::string & subject, Handler handler) override
  {
    if (!is_subject (subject) || !handler)
      return nullptr;
    auto subscriber = hub_->dispatcher ().add (subject, std::move (handler));
    return std::make_unique<LocalSubscription> (hub_, std::move (subscriber));
  }

  /* Nothing to lose: the hub is in this process. */
  void set_state_handler (StateHandler) override {}

  std::string describe () const override { return "local://" + name_; }

private:
  std::string name_;
  std::shared_ptr<HubImpl> hub_;
};

/* Hubs by name; a hub lives while someone holds it. Never destroyed, so
 * buses that outlive main () still find it. */
struct Registry {
  std::mutex lock;
  std::map<std::string, std::weak_ptr<HubImpl>> hubs;
};

Registry &
registry ()
{
  static Registry *instance = new Registry;
  return *instance;
}

std::shared_ptr<HubImpl>
hub_impl (const std::string & name)
{
  Registry & r = registry ();
  std::lock_guard<std::mutex> lock (r.lock);
  auto it = r.hubs.find (name);
  if (it != r.hubs.end ()) {
    if (auto existing = it->second.lock ())
      return existing;
  }
  /* Forget the hubs nobody holds any more. */
  for (auto i = r.hubs.begin (); i != r.hubs.end ();)
    i = i->second.expired () ? r.hubs.erase (i) : std::next (i);
  auto created = std::make_shared<HubImpl> ();
  r.hubs[name] = created;
  return created;
}

}  // namespace

std::shared_ptr<Hub>
hub (const std::string & name)
{
  return hub_impl (name);
}

std::unique_ptr<Bus>
open_local_bus (const std::string & name)
{
  return std::make_unique<LocalBus> (name, hub_impl (name));
}

}  // namespace localbus
}  // namespace sframe
