/* With SFRAME_BENCH_PERF_CTL=<fifo>, a benchmark has perf profile only what
 * it times:
 *   mkfifo ctl; perf record -D -1 --control fifo:ctl ... <benchmark>
 * (perf_control ("enable") and ("disable") around each timed part). */
#pragma once

#include <cstdio>
#include <cstdlib>

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
