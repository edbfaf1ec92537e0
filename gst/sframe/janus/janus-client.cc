#include <gst/sframe/janus/janus-client.h>

#include <libsoup/soup.h>

#include <map>
#include <utility>

namespace sframe {
namespace janus {

namespace {

struct Pending {
  Client::ReplyHandler handler;
  GSource *timeout = nullptr;
};

Reply
timed_out (const std::string & transaction, const std::string & why)
{
  Reply r;
  r.kind = Kind::timeout;
  r.transaction = transaction;
  r.error = why;
  return r;
}

void
destroy_source (GSource ** source)
{
  if (*source) {
    g_source_destroy (*source);
    g_source_unref (*source);
    *source = nullptr;
  }
}

}  // namespace

struct Client::State {
  GMainContext *context = nullptr;
  SoupSession *session = nullptr;
  GCancellable *cancellable = nullptr;
  SoupWebsocketConnection *ws = nullptr;
  gulong message_id = 0, closed_id = 0;
  std::map<std::string, Pending> pending;
  uint64_t transactions = 0;
  EventHandler on_event;
  ClosedHandler on_closed;
  GSource *keepalive = nullptr;
  uint64_t keepalive_session = 0;
  Stats stats;
  std::function<void (Result)> on_connected;

  /* What a request's timeout needs to find it again. */
  struct TimeoutData {
    State *state;
    std::string transaction;
  };

  GSource *attach_timeout (unsigned ms, GSourceFunc func, gpointer data, GDestroyNotify notify)
  {
    GSource *source = g_timeout_source_new (ms);
    g_source_set_callback (source, func, data, notify);
    g_source_attach (source, context);
    return source;
  }

  std::string next_transaction () { return "sframe-" + std::to_string (++transactions); }

  void send_text (const std::string & text)
  {
    if (!ws)
      return;
    soup_websocket_connection_send_text (ws, text.c_str ());
    stats.sent++;
  }

  /* Drops the socket and fails what waits on it. */
  void drop_connection (const std::string & why)
  {
    if (ws) {
      g_signal_handler_disconnect (ws, message_id);
      g_signal_handler_disconnect (ws, closed_id);
      if (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
      g_object_unref (ws);
      ws = nullptr;
    }
    destroy_source (&keepalive);
    auto waiting = std::move (pending);
    pending.clear ();
    for (auto & [transaction, p] : waiting) {
      destroy_source (&p.timeout);
      p.handler (timed_out (transaction, why));
    }
  }

  void dispatch (const std::string & text)
  {
    stats.received++;
    Reply reply;
    if (!parse (text, &reply).ok ()) {
      stats.malformed++;
      return;
    }
    auto it = reply.kind == Kind::ack ? pending.end () : pending.find (reply.transaction);
    if (it != pending.end ()) {
      Pending p = std::move (it->second);
      pending.erase (it);
      destroy_source (&p.timeout);
      p.handler (reply);
    } else if (reply.kind != Kind::ack && on_event) {
      on_event (reply);
    }
  }

  static void on_message (SoupWebsocketConnection *, gint type, GBytes * message, gpointer data)
  {
    auto *self = static_cast<State *> (data);
    gsize size = 0;
    const char *text = static_cast<const char *> (g_bytes_get_data (message, &size));
    if (type != SOUP_WEBSOCKET_DATA_TEXT || !text) {
      self->stats.received++;
      self->stats.malformed++;
      return;
    }
    self->dispatch (std::string (text, size));
  }

  static void on_socket_closed (SoupWebsocketConnection * ws, gpointer data)
  {
    auto *self = static_cast<State *> (data);
    std::string why = "Janus closed the connection (code " +
        std::to_string (soup_websocket_connection_get_close_code (ws)) + ")";
    self->drop_connection (why);
    if (self->on_closed)
      self->on_closed (why);
  }

  static void on_connect_done (GObject * source, GAsyncResult * result, gpointer data)
  {
    GError *error = nullptr;
    SoupWebsocketConnection *ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      /* The Client is gone: `data` must not be touched. */
      g_error_free (error);
      return;
    }
    auto *self = static_cast<State *> (data);
    auto done = std::move (self->on_connected);
    self->on_connected = nullptr;
    if (!ws) {
      std::string why = error ? error->message : "unknown error";
      g_clear_error (&error);
      if (done)
        done (Result (Status::bus_unavailable, "cannot reach Janus: " + why));
      return;
    }
    self->ws = ws;
    self->message_id = g_signal_connect (ws, "message", G_CALLBACK (on_message), self);
    self->closed_id = g_signal_connect (ws, "closed", G_CALLBACK (on_socket_closed), self);
    if (done)
      done (Result ());
  }
};

Client::Client () : state_ (new State)
{
  state_->context = g_main_context_ref_thread_default ();
  state_->session = soup_session_new ();
  state_->cancellable = g_cancellable_new ();
}

Client::~Client ()
{
  g_cancellable_cancel (state_->cancellable);
  state_->on_closed = nullptr;
  state_->drop_connection ("the client was destroyed");
  g_object_unref (state_->cancellable);
  g_object_unref (state_->session);
  g_main_context_unref (state_->context);
}

void
Client::connect (const std::string & url, std::function<void (Result)> done)
{
  SoupMessage *msg = soup_message_new ("GET", url.c_str ());
  if (!msg) {
    done (Result (Status::invalid_argument, "not a WebSocket URL: '" + url + "'"));
    return;
  }
  state_->on_connected = std::move (done);
  static const char *protocols[] = {"janus-protocol", nullptr};
  g_main_context_push_thread_default (state_->context);
  soup_session_websocket_connect_async (state_->session, msg, nullptr, const_cast<char **> (protocols),
      G_PRIORITY_DEFAULT, state_->cancellable, State::on_connect_done, state_.get ());
  g_main_context_pop_thread_default (state_->context);
  g_object_unref (msg);
}

bool
Client::connected () const
{
  return state_->ws && soup_websocket_connection_get_state (state_->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

void
Client::request (const Builder & build, ReplyHandler on_reply, unsigned timeout_ms)
{
  std::string transaction = state_->next_transaction ();
  if (!connected ()) {
    on_reply (timed_out (transaction, "not connected to Janus"));
    return;
  }
  auto *data = new State::TimeoutData {state_.get (), transaction};
  GSource *timeout = state_->attach_timeout (timeout_ms, [] (gpointer p) -> gboolean {
    auto *d = static_cast<State::TimeoutData *> (p);
    auto it = d->state->pending.find (d->transaction);
    if (it != d->state->pending.end ()) {
      Pending pending = std::move (it->second);
      d->state->pending.erase (it);
      g_source_unref (pending.timeout);   /* this source: destroyed by returning REMOVE */
      d->state->stats.timeouts++;
      pending.handler (timed_out (d->transaction, "Janus did not answer in time"));
    }
    return G_SOURCE_REMOVE;
  }, data, [] (gpointer p) { delete static_cast<State::TimeoutData *> (p); });
  state_->pending[transaction] = Pending {std::move (on_reply), timeout};
  state_->send_text (build (transaction));
}

void
Client::send (const Builder & build)
{
  state_->send_text (build (state_->next_transaction ()));
}

void
Client::set_event_handler (EventHandler handler)
{
  state_->on_event = std::move (handler);
}

void
Client::set_closed_handler (ClosedHandler handler)
{
  state_->on_closed = std::move (handler);
}

void
Client::keep_alive (uint64_t session, unsigned interval_ms)
{
  destroy_source (&state_->keepalive);
  state_->keepalive_session = session;
  if (interval_ms == 0)
    return;
  state_->keepalive = state_->attach_timeout (interval_ms, [] (gpointer p) -> gboolean {
    auto *state = static_cast<State *> (p);
    state->send_text (keepalive (state->keepalive_session, state->next_transaction ()));
    return G_SOURCE_CONTINUE;
  }, state_.get (), nullptr);
}

void
Client::close ()
{
  state_->drop_connection ("the connection was closed");
}

Client::Stats
Client::stats () const
{
  return state_->stats;
}

}  // namespace janus
}  // namespace sframe
