#include "bus-nats.h"

#include <nats/nats.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace sframe {
namespace natsbus {

namespace {

constexpr int64_t kConnectTimeoutMs = 2000;     /* per server, at open time */
constexpr int64_t kReconnectWaitMs = 200;
constexpr int kReconnectBufferBytes = 8 * 1024 * 1024;  /* what publish buffers during an outage */
constexpr int64_t kPingIntervalMs = 5000;       /* with 2 pings out: a silent server is gone in ~15 s */
constexpr int kMaxPingsOut = 2;
constexpr int64_t kSubscribeFlushTimeoutMs = 2000;
constexpr int64_t kCloseFlushTimeoutMs = 1000;
constexpr int kCredentialsRetries = 3;          /* see open_nats_bus */

/* What libnats callbacks reach is looked up by id in a registry instead of
 * being passed as a raw pointer: libnats may still call back (on its own
 * threads) after we are gone, and then finds nothing. */
template <typename T>
class Registry {
public:
  uint64_t add (std::shared_ptr<T> item)
  {
    std::lock_guard<std::mutex> lock (lock_);
    uint64_t id = ++last_id_;
    items_.emplace (id, std::move (item));
    return id;
  }

  std::shared_ptr<T> find (uint64_t id)
  {
    std::lock_guard<std::mutex> lock (lock_);
    auto it = items_.find (id);
    return it == items_.end () ? nullptr : it->second;
  }

  void remove (uint64_t id)
  {
    std::shared_ptr<T> item;
    std::lock_guard<std::mutex> lock (lock_);
    auto it = items_.find (id);
    if (it != items_.end ()) {
      item = std::move (it->second);
      items_.erase (it);
    }
  }

private:
  std::mutex lock_;
  uint64_t last_id_ = 0;
  std::unordered_map<uint64_t, std::shared_ptr<T>> items_;
};

void *
id_closure (uint64_t id)
{
  return reinterpret_cast<void *> (static_cast<uintptr_t> (id));
}

uint64_t
closure_id (void *closure)
{
  return static_cast<uint64_t> (reinterpret_cast<uintptr_t> (closure));
}

/* One user callback behind a guard: it can be ended, after which it is
 * not running (unless ended from inside itself) and never runs again. */
template <typename Function>
class GuardedCallback {
public:
  explicit GuardedCallback (Function function) : function_ (std::make_shared<Function> (std::move (function))) {}

  template <typename... Args>
  void call (Args &&... args)
  {
    std::shared_ptr<Function> function;
    {
      std::lock_guard<std::mutex> lock (lock_);
      if (!function_ || !*function_)
        return;
      function = function_;
      running_in_ = std::this_thread::get_id ();
    }
    try {
      (*function) (std::forward<Args> (args)...);
    } catch (...) {
      /* Exceptions never unwind into libnats (C). */
    }
    {
      std::lock_guard<std::mutex> lock (lock_);
      running_in_ = std::thread::id ();
    }
    idle_.notify_all ();
  }

  /* Replaces the callback (an empty one ends it) and waits until the old
   * one has returned, unless it is the caller. */
  void replace (Function function)
  {
    std::shared_ptr<Function> old;
    {
      std::unique_lock<std::mutex> lock (lock_);
      if (running_in_ != std::this_thread::get_id ())
        idle_.wait (lock, [this] { return running_in_ == std::thread::id (); });
      old = std::move (function_);
      function_ = std::make_shared<Function> (std::move (function));
    }
    /* `old`, and whatever it captured, goes here, outside the lock (or, if
     * it is running, when it returns). */
  }

private:
  std::mutex lock_;
  std::condition_variable idle_;
  std::shared_ptr<Function> function_;
  std::thread::id running_in_;  /* libnats calls one subscription (or one connection's events) at a time */
};

using MessageCallback = GuardedCallback<Bus::Handler>;

/* The connection state as last reported, and to whom. */
class StateEvents {
public:
  StateEvents () : callback_ (nullptr) {}

  void report (bool connected)
  {
    {
      std::lock_guard<std::mutex> lock (lock_);
      /* libnats may say "disconnected" again while it retries. */
      if (connected == connected_)
        return;
      connected_ = connected;
    }
    callback_.call (connected);
  }

  void set_handler (Bus::StateHandler handler) { callback_.replace (std::move (handler)); }

private:
  std::mutex lock_;
  bool connected_ = true;
  GuardedCallback<Bus::StateHandler> callback_;
};

Registry<MessageCallback> &
subscriptions ()
{
  static auto *registry = new Registry<MessageCallback>;  /* never destroyed: libnats threads may outlive main () */
  return *registry;
}

Registry<StateEvents> &
connections ()
{
  static auto *registry = new Registry<StateEvents>;
  return *registry;
}

void
on_message (natsConnection *, natsSubscription *, natsMsg * msg, void *closure)
{
  if (auto callback = subscriptions ().find (closure_id (closure))) {
    const char *data = natsMsg_GetData (msg);
    int size = natsMsg_GetDataLength (msg);
    ByteView payload (reinterpret_cast<const uint8_t *> (data), size > 0 ? static_cast<size_t> (size) : 0);
    callback->call (std::string (natsMsg_GetSubject (msg)), payload);
  }
  natsMsg_Destroy (msg);
}

void
on_disconnected (natsConnection *, void *closure)
{
  if (auto events = connections ().find (closure_id (closure)))
    events->report (false);
}

void
on_reconnected (natsConnection *, void *closure)
{
  if (auto events = connections ().find (closure_id (closure)))
    events->report (true);
}

/* One libnats connection, shared by the Bus and its subscriptions: it is
 * closed when the last of them goes. */
class Connection {
public:
  Connection (natsConnection * nc, uint64_t events_id, std::shared_ptr<StateEvents> events)
      : nc_ (nc), events_id_ (events_id), events_ (std::move (events)) {}

  ~Connection ()
  {
    /* What was published just before is not lost in our buffer. */
    if (natsConnection_Status (nc_) == NATS_CONN_STATUS_CONNECTED)
      natsConnection_FlushTimeout (nc_, kCloseFlushTimeoutMs);
    natsConnection_Close (nc_);
    natsConnection_Destroy (nc_);
    connections ().remove (events_id_);
  }

  natsConnection *get () const { return nc_; }
  StateEvents & events () { return *events_; }

private:
  natsConnection *nc_;
  uint64_t events_id_;
  std::shared_ptr<StateEvents> events_;
};

class NatsSubscription final : public BusSubscription {
public:
  NatsSubscription (std::shared_ptr<Connection> connection, natsSubscription * sub, uint64_t id,
      std::shared_ptr<MessageCallback> callback)
      : connection_ (std::move (connection)), sub_ (sub), id_ (id), callback_ (std::move (callback)) {}

  ~NatsSubscription () override
  {
    subscriptions ().remove (id_);
    natsSubscription_Unsubscribe (sub_);
    callback_->replace (nullptr);
    natsSubscription_Destroy (sub_);
  }

private:
  std::shared_ptr<Connection> connection_;
  natsSubscription *sub_;
  uint64_t id_;
  std::shared_ptr<MessageCallback> callback_;
};

class NatsBus final : public Bus {
public:
  NatsBus (std::shared_ptr<Connection> connection, std::string shown)
      : connection_ (std::move (connection)), shown_ (std::move (shown)) {}

  ~NatsBus () override { connection_->events ().set_handler (nullptr); }

  Status publish (const std::string & subject, ByteView payload) override
  {
    if (!is_subject (subject) || (payload.data == nullptr && payload.size != 0) || payload.size > INT_MAX)
      return Status::invalid_argument;
    natsStatus s = natsConnection_Publish (connection_->get (), subject.c_str (), payload.data,
        static_cast<int> (payload.size));
    switch (s) {
      case NATS_OK:
        return Status::ok;
      case NATS_MAX_PAYLOAD:
        return Status::invalid_argument;
      default:
        /* NATS_INSUFFICIENT_BUFFER (the outage buffer is full) and the
         * like: the message could not be taken. */
        return Status::buffer_too_small;
    }
  }

  std::unique_ptr<BusSubscription> subscribe (const std::string & subject, Handler handler) override
  {
    if (!is_subject (subject) || !handler)
      return nullptr;
    auto callback = std::make_shared<MessageCallback> (std::move (handler));
    uint64_t id = subscriptions ().add (callback);
    natsSubscription *sub = nullptr;
    natsStatus s = natsConnection_Subscribe (&sub, connection_->get (), subject.c_str (), on_message, id_closure (id));
    if (s != NATS_OK) {
      subscriptions ().remove (id);
      return nullptr;
    }
    /* Once the server has the interest, whatever is published after this
     * returns reaches the subscription (on this server; other nodes of a
     * cluster learn it shortly after). During an outage the interest is
     * sent on reconnection. */
    if (natsConnection_Status (connection_->get ()) == NATS_CONN_STATUS_CONNECTED)
      natsConnection_FlushTimeout (connection_->get (), kSubscribeFlushTimeoutMs);
    return std::make_unique<NatsSubscription> (connection_, sub, id, std::move (callback));
  }

  void set_state_handler (StateHandler handler) override { connection_->events ().set_handler (std::move (handler)); }

  std::string describe () const override { return shown_; }

private:
  std::shared_ptr<Connection> connection_;
  std::string shown_;
};

struct OptionsDeleter {
  void operator() (natsOptions * o) const { natsOptions_Destroy (o); }
};

/* Everything but the servers: timeouts, and reconnecting forever with a
 * buffer so that publish keeps working through an outage. */
natsStatus
configure (natsOptions * opts, const std::vector<std::string> & urls, uint64_t events_id)
{
  std::vector<const char *> servers;
  for (const auto & url : urls)
    servers.push_back (url.c_str ());
  natsStatus s = natsOptions_SetServers (opts, servers.data (), static_cast<int> (servers.size ()));
  if (s == NATS_OK)
    s = natsOptions_SetName (opts, "gst-sframe");
  if (s == NATS_OK)
    s = natsOptions_SetTimeout (opts, kConnectTimeoutMs);
  /* Failing at open time is an answer for the user; retrying forever
   * starts only once connected. */
  if (s == NATS_OK)
    s = natsOptions_SetRetryOnFailedConnect (opts, false, nullptr, nullptr);
  if (s == NATS_OK)
    s = natsOptions_SetAllowReconnect (opts, true);
  if (s == NATS_OK)
    s = natsOptions_SetMaxReconnect (opts, -1);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectWait (opts, kReconnectWaitMs);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectBufSize (opts, kReconnectBufferBytes);
  if (s == NATS_OK)
    s = natsOptions_SetPingInterval (opts, kPingIntervalMs);
  if (s == NATS_OK)
    s = natsOptions_SetMaxPingsOut (opts, kMaxPingsOut);
  if (s == NATS_OK)
    s = natsOptions_SetDisconnectedCB (opts, on_disconnected, id_closure (events_id));
  if (s == NATS_OK)
    s = natsOptions_SetReconnectedCB (opts, on_reconnected, id_closure (events_id));
  return s;
}

constexpr char kTlsScheme[] = "tls://";

bool
is_tls_url (const std::string & url)
{
  return url.compare (0, sizeof kTlsScheme - 1, kTlsScheme) == 0;
}

/* libnats takes nats:// URLs; TLS is an option of its own. */
std::string
as_nats_url (const std::string & url)
{
  return is_tls_url (url) ? "nats://" + url.substr (sizeof kTlsScheme - 1) : url;
}

/* The host of "scheme://[userinfo@]host[:port]". */
std::string
url_host (const std::string & url)
{
  size_t start = url.find ("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t at = url.rfind ('@');
  if (at != std::string::npos && at >= start)
    start = at + 1;
  if (start < url.size () && url[start] == '[')
    return url.substr (start, url.find (']', start) + 1 - start);
  return url.substr (start, url.find (':', start) - start);
}

bool
is_ip_literal (const std::string & host)
{
  return !host.empty () && (host[0] == '[' || host.find_first_not_of ("0123456789.") == std::string::npos);
}

/* libnats' last error, without anything a URL's credentials could add. */
std::string
last_error (const std::vector<std::string> & urls)
{
  natsStatus status = NATS_OK;
  std::string text = nats_GetLastError (&status);
  for (const auto & url : urls) {
    size_t start = url.find ("://"), at = url.rfind ('@');
    if (start == std::string::npos || at == std::string::npos || at < start + 3)
      continue;
    std::string userinfo = url.substr (start + 3, at - start - 3);
    for (size_t found; !userinfo.empty () && (found = text.find (userinfo)) != std::string::npos;)
      text.erase (found, userinfo.size ());
  }
  return text;
}

/* TLS and credentials: what the server checks of us, and what we check of
 * it. A reason for people in *why on failure. */
natsStatus
secure (natsOptions * opts, const std::vector<std::string> & urls, const BusSecurity & security, std::string * why)
{
  bool client_cert = !security.tls_cert_file.empty () || !security.tls_key_file.empty ();
  bool tls = !security.tls_ca_file.empty () || client_cert ||
      std::any_of (urls.begin (), urls.end (), is_tls_url);
  if (client_cert && (security.tls_cert_file.empty () || security.tls_key_file.empty ())) {
    *why = "a client certificate needs both its certificate file and its key file";
    return NATS_INVALID_ARG;
  }
  natsStatus s = natsOptions_SetSecure (opts, tls);
  if (s == NATS_OK && !security.tls_ca_file.empty () &&
      (s = natsOptions_LoadCATrustedCertificates (opts, security.tls_ca_file.c_str ())) != NATS_OK)
    *why = "cannot load the CA certificates of '" + security.tls_ca_file + "': " + last_error (urls);
  if (s == NATS_OK && client_cert &&
      (s = natsOptions_LoadCertificatesChain (opts, security.tls_cert_file.c_str (),
           security.tls_key_file.c_str ())) != NATS_OK)
    *why = "cannot load the client certificate '" + security.tls_cert_file + "' and its key: " + last_error (urls);
  /* The server's name is checked against its certificate when the URLs
   * name it (an IP address is checked by the CA's signature alone). */
  std::string host = url_host (urls.front ());
  bool one_host = std::all_of (urls.begin (), urls.end (), [&] (const std::string & u) { return url_host (u) == host; });
  if (s == NATS_OK && tls && one_host && !is_ip_literal (host))
    s = natsOptions_SetExpectedHostname (opts, host.c_str ());
  if (s == NATS_OK && !security.credentials_file.empty () &&
      (s = natsOptions_SetUserCredentialsFromFiles (opts, security.credentials_file.c_str (), nullptr)) != NATS_OK)
    *why = "cannot use the NATS credentials file '" + security.credentials_file + "': " + last_error (urls);
  return s;
}

/* True when the server refused this client's credentials. */
bool
refused (natsStatus s, const std::string & detail)
{
  return s == NATS_NOT_PERMITTED || detail.find ("uthorization") != std::string::npos;
}

/* Why a connection failed, for people: the server's answer when it gave
 * one (TLS, authorization), and what to check. */
std::string
connect_failure (natsStatus s, const std::vector<std::string> & urls)
{
  std::string detail = last_error (urls);
  std::string text = natsStatus_GetText (s);
  if (s == NATS_SSL_ERROR || detail.find ("SSL") != std::string::npos || detail.find ("certificate") != std::string::npos)
    return "TLS failed (" + detail + "): is the server's certificate signed by the CA given (tls-ca-file), and "
        "does the server require a client certificate?";
  if (refused (s, detail))
    return "the server refused this client's credentials (" + detail + "): check the user and password in the "
        "URI, or the NATS credentials file";
  if (s == NATS_SECURE_CONNECTION_REQUIRED)
    return "the server requires TLS: use tls://HOST:PORT and the CA that signed its certificate (tls-ca-file)";
  if (s == NATS_SECURE_CONNECTION_WANTED)
    return "the server does not offer TLS, which this client requires";
  return detail.empty () ? text : text + " (" + detail + ")";
}

}  // namespace

std::string
redact_urls (const std::string & urls)
{
  std::string out;
  size_t start = 0;
  while (true) {
    size_t comma = urls.find (',', start);
    std::string url = urls.substr (start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t authority = url.find ("://");
    authority = authority == std::string::npos ? 0 : authority + 3;
    size_t at = url.rfind ('@');
    if (at != std::string::npos && at >= authority)
      url.erase (authority, at + 1 - authority);
    out += url;
    if (comma == std::string::npos)
      return out;
    out += ',';
    start = comma + 1;
  }
}

Result
open_nats_bus (const std::vector<std::string> & urls, const std::string & shown, const BusSecurity & security,
    std::unique_ptr<Bus> * bus)
{
  auto events = std::make_shared<StateEvents> ();
  uint64_t events_id = connections ().add (events);

  natsOptions *raw_opts = nullptr;
  natsStatus s = natsOptions_Create (&raw_opts);
  std::unique_ptr<natsOptions, OptionsDeleter> opts (raw_opts);
  std::vector<std::string> servers;
  for (const auto & url : urls)
    servers.push_back (as_nats_url (url));
  std::string why;
  if (s == NATS_OK)
    s = configure (opts.get (), servers, events_id);
  if (s == NATS_OK)
    s = secure (opts.get (), urls, security, &why);
  if (s != NATS_OK) {
    connections ().remove (events_id);
    return {Status::invalid_argument, std::string ("cannot set up the NATS client for '") + shown + "': " +
        (why.empty () ? natsStatus_GetText (s) : why)};
  }

  natsConnection *nc = nullptr;
  s = natsConnection_Connect (&nc, opts.get ());
  /* libnats before nats-io/nats.c#705 (Debian 12 has 3.4.1) leaves out
   * the signature of the server's nonce when its first byte is zero, so
   * the server refuses one login with a credentials file in 256. Every
   * attempt signs a fresh nonce: try again a few times. */
  for (int retry = 0; s != NATS_OK && !security.credentials_file.empty () && retry < kCredentialsRetries &&
       refused (s, last_error (urls)); retry++)
    s = natsConnection_Connect (&nc, opts.get ());
  if (s != NATS_OK) {
    connections ().remove (events_id);
    return {Status::bus_unavailable, std::string ("cannot connect to the NATS server") +
        (urls.size () > 1 ? "s" : "") + " at '" + shown + "': " + connect_failure (s, urls)};
  }
  auto connection = std::make_shared<Connection> (nc, events_id, std::move (events));
  *bus = std::make_unique<NatsBus> (std::move (connection), shown);
  return {};
}

}  // namespace natsbus
}  // namespace sframe
