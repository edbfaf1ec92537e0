/* A thread running a GMainContext of its own, for an element's
 * signalling: the Janus client (which must live on the context that was
 * thread-default when it was made) and the work webrtcbin's callbacks
 * hand over. Made when the element starts, joined when it stops. */
#pragma once

#include <glib.h>

#include <functional>

class SignallingLoop {
public:
  explicit SignallingLoop (const char *thread_name);
  ~SignallingLoop ();
  SignallingLoop (const SignallingLoop &) = delete;
  SignallingLoop & operator= (const SignallingLoop &) = delete;

  /* Runs `work` on the loop's thread, later. */
  void invoke (std::function<void ()> work);
  /* Runs `work` on the loop's thread and waits for it (never call from
   * that thread). */
  void invoke_sync (std::function<void ()> work);
  /* Runs `work` on the loop's thread after `ms` milliseconds; the returned
   * source can be destroyed to cancel it (call g_source_unref when done). */
  GSource *invoke_after (unsigned ms, std::function<void ()> work);
  bool on_loop_thread () const { return g_thread_self () == thread_; }
  GMainContext *context () const { return context_; }

private:
  static gpointer run (gpointer data);

  GMainContext *context_ = nullptr;
  GMainLoop *loop_ = nullptr;
  GThread *thread_ = nullptr;
};
