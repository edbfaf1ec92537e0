#include "signalling-loop.h"

#include <condition_variable>
#include <mutex>

namespace {

using Work = std::function<void ()>;

gboolean
run_work (gpointer data)
{
  (*static_cast<Work *> (data)) ();
  return G_SOURCE_REMOVE;
}

void
free_work (gpointer data)
{
  delete static_cast<Work *> (data);
}

}  // namespace

SignallingLoop::SignallingLoop (const char *thread_name)
{
  context_ = g_main_context_new ();
  loop_ = g_main_loop_new (context_, FALSE);
  thread_ = g_thread_new (thread_name, &SignallingLoop::run, this);
}

SignallingLoop::~SignallingLoop ()
{
  /* Quit from inside, so that work already queued runs first. */
  invoke ([this] { g_main_loop_quit (loop_); });
  g_thread_join (thread_);
  /* Sources still attached (timers) are dropped with the context. */
  g_main_loop_unref (loop_);
  g_main_context_unref (context_);
}

gpointer
SignallingLoop::run (gpointer data)
{
  auto *self = static_cast<SignallingLoop *> (data);
  g_main_context_push_thread_default (self->context_);
  g_main_loop_run (self->loop_);
  g_main_context_pop_thread_default (self->context_);
  return nullptr;
}

void
SignallingLoop::invoke (std::function<void ()> work)
{
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, run_work, new Work (std::move (work)), free_work);
  g_source_attach (source, context_);
  g_source_unref (source);
}

void
SignallingLoop::invoke_sync (std::function<void ()> work)
{
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  invoke ([&] {
    work ();
    std::lock_guard<std::mutex> lock (mutex);
    done = true;
    done_cv.notify_one ();
  });
  std::unique_lock<std::mutex> lock (mutex);
  done_cv.wait (lock, [&] { return done; });
}

GSource *
SignallingLoop::invoke_after (unsigned ms, std::function<void ()> work)
{
  GSource *source = g_timeout_source_new (ms);
  g_source_set_callback (source, run_work, new Work (std::move (work)), free_work);
  g_source_attach (source, context_);
  return source;
}
