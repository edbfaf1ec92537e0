/* What the benchmark programs share.
 *
 * With SFRAME_BENCH_PERF_CTL=<fifo>, a benchmark has perf profile only what
 * it times:
 *   mkfifo ctl; perf record -D -1 --control fifo:ctl ... <benchmark>
 * (perf_control ("enable") and ("disable") around each timed part).
 * Under callgrind the same parts alone are counted, in instructions (which
 * do not drift with the machine as time does):
 *   valgrind --tool=callgrind --collect-atstart=no <benchmark> */
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define SFRAME_BENCH_HAVE_CALLGRIND 1
#endif
#endif

inline void
perf_control (const char * command)
{
#ifdef SFRAME_BENCH_HAVE_CALLGRIND
  CALLGRIND_TOGGLE_COLLECT;   /* a no-op outside valgrind (see the top) */
#endif
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

/* The values sorted, each printed with `format`, joined by " / ". */
inline std::string
describe_sorted (std::vector<double> values, const char * format = "%.0f")
{
  std::sort (values.begin (), values.end ());
  std::ostringstream out;
  char buf[32];
  for (size_t i = 0; i < values.size (); i++) {
    std::snprintf (buf, sizeof buf, format, values[i]);
    out << (i ? " / " : "") << buf;
  }
  return out.str ();
}

/* "10,50,100" as numbers. */
inline std::vector<int>
parse_sizes (const std::string & text)
{
  std::vector<int> sizes;
  std::stringstream in (text);
  std::string item;
  while (std::getline (in, item, ','))
    sizes.push_back (std::stoi (item));
  return sizes;
}
