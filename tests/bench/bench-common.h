/* What the benchmark programs share.
 *
 * With SFRAME_BENCH_PERF_CTL=<fifo>, a benchmark has perf profile only what
 * it times:
 *   mkfifo ctl; perf record -D -1 --control fifo:ctl ... <benchmark>
 * (perf_control ("enable") and ("disable") around each timed part). */
#pragma once

#include <cstdio>
#include <cstdlib>
#include <ctime>

inline void
perf_control (const char * command)
{
  static FILE *fifo = [] {
    const char *path = std::getenv ("SFRAME_BENCH_PERF_CTL");
    return path ? std::fopen (path, "w") : nullptr;
  }();
  if (fifo) {
    std::fprintf (fifo, "%s\n", command);
    std::fflush (fifo);
  }
}

/* A CPU clock (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID), in ms. */
inline double
cpu_clock_ms (clockid_t clock)
{
  timespec ts {};
  clock_gettime (clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
