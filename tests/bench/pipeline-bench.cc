/* What sframeenc + sframedec add to a real pipeline's CPU use.
 *
 *   videotestsrc num-buffers=600 ! video/x-raw,width=1280,height=720,framerate=30/1
 *     ! vp8enc deadline=1 ! [sframeenc ! sframedec !] vp8dec ! fakesink
 *
 * Runs the pipeline without ("plain") and with ("e2ee") the SFrame elements,
 * interleaved (the order alternates between repetitions), and reports for
 * each the median process CPU time (CLOCK_PROCESS_CPUTIME_ID from PLAYING
 * to EOS) and wall time, and the ratio of the medians. Target: the SFrame
 * elements add at most 1 % of the pipeline's CPU.
 *
 * Because whole-process CPU differs from run to run by more than 1 % on a
 * shared machine, the e2ee runs also time each frame inside sframeenc and
 * sframedec directly: a probe on the element's sink pad notes the time a
 * buffer enters, one on its src pad the time the output leaves. A
 * GstBaseTransform processes a buffer on the thread that pushed it, from
 * its sink pad to its src pad, so the pair measures exactly that element's
 * work (thread CPU time and monotonic time). The sum over all frames,
 * divided by the pipeline's CPU, is the share the SFrame elements take.
 *
 * With --calibrate, each repetition also runs the pipeline with two
 * `identity` elements in their place, timed the same way: what any element
 * in that position costs (probes, pad push, a cache-cold first touch after
 * the encoder), for comparison with the SFrame elements.
 *
 * Usage: sframe-pipeline-bench [--frames N] [--repetitions R] [--calibrate]
 * Not a test: never fails on a target (exit 1 only when a run errors). */
#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

constexpr const char *kKey = "000102030405060708090a0b0c0d0e0f";

double
now (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Per-frame time inside one element, from its sink pad to its src pad. */
struct ElementTimer {
  std::mutex lock;
  std::vector<double> cpu_us, wall_us;
};

/* The start of the buffer the current thread is in, per element: the
 * element handles one buffer at a time on one streaming thread. */
struct Start {
  const ElementTimer *timer = nullptr;
  double cpu = 0, wall = 0;
};
thread_local Start t_start[2];

Start *
slot_for (const ElementTimer * timer, bool create)
{
  for (Start & s : t_start) {
    if (s.timer == timer)
      return &s;
  }
  if (!create)
    return nullptr;
  for (Start & s : t_start) {
    if (!s.timer) {
      s.timer = timer;
      return &s;
    }
  }
  return nullptr;
}

GstPadProbeReturn
enter_probe (GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  Start *s = slot_for (static_cast<ElementTimer *> (user_data), true);
  if (s) {
    s->wall = now (CLOCK_MONOTONIC);
    s->cpu = now (CLOCK_THREAD_CPUTIME_ID);
  }
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn
leave_probe (GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  double cpu = now (CLOCK_THREAD_CPUTIME_ID), wall = now (CLOCK_MONOTONIC);
  auto timer = static_cast<ElementTimer *> (user_data);
  Start *s = slot_for (timer, false);
  if (!s || s->wall == 0)
    return GST_PAD_PROBE_OK;  /* not entered on this thread: not ours */
  std::lock_guard<std::mutex> lock (timer->lock);
  timer->cpu_us.push_back ((cpu - s->cpu) * 1e6);
  timer->wall_us.push_back ((wall - s->wall) * 1e6);
  s->wall = 0;
  return GST_PAD_PROBE_OK;
}

void
time_element (GstElement * pipeline, const char *name, ElementTimer * timer)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);
  GstPad *sink = gst_element_get_static_pad (e, "sink");
  GstPad *src = gst_element_get_static_pad (e, "src");
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, enter_probe, timer, nullptr);
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, leave_probe, timer, nullptr);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (e);
}

struct Run {
  double cpu_s = 0, wall_s = 0;
  guint64 sframe_bytes = 0;  /* e2ee: what sframeenc counted */
  bool ok = false;
};

guint64
stat (GstElement * pipeline, const char *element, const char *field)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), element);
  GstStructure *s = nullptr;
  g_object_get (e, "stats", &s, nullptr);
  guint64 v = 0;
  gst_structure_get_uint64 (s, field, &v);
  gst_structure_free (s);
  gst_object_unref (e);
  return v;
}

enum class Variant { plain, e2ee, identity };

const char *
variant_name (Variant v)
{
  return v == Variant::plain ? "plain" : v == Variant::e2ee ? "e2ee" : "identity";
}

Run
run_once (int frames, Variant variant, ElementTimer * enc, ElementTimer * dec)
{
  std::string launch = "videotestsrc num-buffers=" + std::to_string (frames) +
      " ! video/x-raw,width=1280,height=720,framerate=30/1 ! vp8enc deadline=1 ! ";
  if (variant == Variant::e2ee)
    launch += std::string ("sframeenc name=se key=") + kKey + " ! sframedec name=sd key=" + kKey + " ! ";
  else if (variant == Variant::identity)
    launch += "identity name=se ! identity name=sd ! ";
  launch += "vp8dec ! fakesink sync=false";
  bool e2ee = variant == Variant::e2ee;

  Run run;
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  if (!pipeline) {
    g_printerr ("cannot parse '%s': %s\n", launch.c_str (), error ? error->message : "?");
    g_clear_error (&error);
    return run;
  }
  if (variant != Variant::plain) {
    time_element (pipeline, "se", enc);
    time_element (pipeline, "sd", dec);
  }
  /* Building the pipeline is not what is measured: from PLAYING to EOS. */
  gst_element_set_state (pipeline, GST_STATE_READY);
  double cpu0 = now (CLOCK_PROCESS_CPUTIME_ID), wall0 = now (CLOCK_MONOTONIC);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  run.cpu_s = now (CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  run.wall_s = now (CLOCK_MONOTONIC) - wall0;
  run.ok = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
  if (!run.ok) {
    GError *err = nullptr;
    gst_message_parse_error (msg, &err, nullptr);
    g_printerr ("pipeline error: %s\n", err->message);
    g_error_free (err);
  } else if (e2ee) {
    guint64 encrypted = stat (pipeline, "se", "frames"), decrypted = stat (pipeline, "sd", "frames");
    guint64 dropped = stat (pipeline, "se", "dropped") + stat (pipeline, "sd", "dropped");
    run.sframe_bytes = stat (pipeline, "se", "bytes");
    if (encrypted != static_cast<guint64> (frames) || decrypted != encrypted || dropped != 0) {
      g_printerr ("SFrame lost frames: %" G_GUINT64_FORMAT " encrypted, %" G_GUINT64_FORMAT
          " decrypted, %" G_GUINT64_FORMAT " dropped\n", encrypted, decrypted, dropped);
      run.ok = false;
    }
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return run;
}

double
median (std::vector<double> v)
{
  std::sort (v.begin (), v.end ());
  size_t n = v.size ();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile. */
double
percentile (std::vector<double> v, double p)
{
  if (v.empty ())
    return 0;
  std::sort (v.begin (), v.end ());
  size_t rank = static_cast<size_t> (std::max (1.0, std::ceil (p / 100.0 * v.size ())));
  return v[std::min (rank, v.size ()) - 1];
}

double
sum (const std::vector<double> & v)
{
  double s = 0;
  for (double x : v)
    s += x;
  return s;
}

std::string
load_average ()
{
  char buf[128] = "";
  FILE *f = fopen ("/proc/loadavg", "r");
  if (f) {
    if (!fgets (buf, sizeof buf, f))
      buf[0] = 0;
    fclose (f);
  }
  buf[strcspn (buf, "\n")] = 0;
  return buf;
}

/* Everything measured for one variant over all repetitions. */
struct Totals {
  std::vector<double> cpu, wall;
  double cpu_sum = 0;
  ElementTimer enc, dec;  /* per-frame times of all runs */
};

void
print_per_frame (const char *label, Totals & t)
{
  for (ElementTimer * e : {&t.enc, &t.dec}) {
    g_print ("  %-22s %10.1f %10.1f %10.1f %10.1f %8zu\n", (std::string (label) +
            (e == &t.enc ? (label[0] == 'i' ? " (1st)" : "enc") : (label[0] == 'i' ? " (2nd)" : "dec"))).c_str (),
        percentile (e->cpu_us, 50), percentile (e->cpu_us, 99), percentile (e->wall_us, 50),
        percentile (e->wall_us, 99), e->cpu_us.size ());
  }
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  int frames = 600, reps = 3;
  bool calibrate = false;
  for (int i = 1; i < argc; i++) {
    if (g_str_equal (argv[i], "--calibrate"))
      calibrate = true;
    else if (g_str_equal (argv[i], "--frames") && i + 1 < argc)
      frames = atoi (argv[++i]);
    else if (g_str_equal (argv[i], "--repetitions") && i + 1 < argc)
      reps = atoi (argv[++i]);
  }
  for (const char *name : {"videotestsrc", "vp8enc", "vp8dec", "sframeenc", "sframedec"}) {
    GstElementFactory *f = gst_element_factory_find (name);
    if (!f) {
      g_print ("SKIP: element %s is not available\n", name);
      return 77;
    }
    gst_object_unref (f);
  }

  g_print ("720p30 VP8 encode + decode, %d frames, %d interleaved repetitions; %ld CPUs online, "
      "load average at start: %s\n", frames, reps, sysconf (_SC_NPROCESSORS_ONLN),
      load_average ().c_str ());
  std::vector<Variant> order = {Variant::plain, Variant::e2ee};
  if (calibrate)
    order.push_back (Variant::identity);
  Totals totals[3];
  for (int r = 0; r < reps; r++) {
    for (size_t k = 0; k < order.size (); k++) {
      /* Rotate the order, so no variant always runs first or last. */
      Variant v = order[(k + r) % order.size ()];
      Totals & t = totals[static_cast<int> (v)];
      ElementTimer enc, dec;
      Run run = run_once (frames, v, &enc, &dec);
      if (!run.ok)
        return 1;
      t.cpu.push_back (run.cpu_s);
      t.wall.push_back (run.wall_s);
      t.cpu_sum += run.cpu_s;
      t.enc.cpu_us.insert (t.enc.cpu_us.end (), enc.cpu_us.begin (), enc.cpu_us.end ());
      t.enc.wall_us.insert (t.enc.wall_us.end (), enc.wall_us.begin (), enc.wall_us.end ());
      t.dec.cpu_us.insert (t.dec.cpu_us.end (), dec.cpu_us.begin (), dec.cpu_us.end ());
      t.dec.wall_us.insert (t.dec.wall_us.end (), dec.wall_us.begin (), dec.wall_us.end ());
      g_print ("  repetition %d %-8s: process CPU %7.3f s, wall %7.3f s", r + 1, variant_name (v),
          run.cpu_s, run.wall_s);
      if (v != Variant::plain)
        g_print (", the two timed elements %.3f%% of it (%zu + %zu frames timed)",
            (sum (enc.cpu_us) + sum (dec.cpu_us)) / 1e6 / run.cpu_s * 100, enc.cpu_us.size (),
            dec.cpu_us.size ());
      if (v == Variant::e2ee)
        g_print (", %.0f clear bytes per frame", static_cast<double> (run.sframe_bytes) / frames);
      g_print ("\n");
    }
  }

  Totals & plain = totals[static_cast<int> (Variant::plain)];
  Totals & e2ee = totals[static_cast<int> (Variant::e2ee)];
  Totals & ident = totals[static_cast<int> (Variant::identity)];
  double pc = median (plain.cpu), ec = median (e2ee.cpu);
  double inside = (sum (e2ee.enc.cpu_us) + sum (e2ee.dec.cpu_us)) / 1e6;
  double share = inside / e2ee.cpu_sum * 100;
  g_print ("\nmedian process CPU: plain %.3f s, e2ee %.3f s; e2ee / plain = %.4f (%+.2f%%)\n", pc, ec,
      ec / pc, (ec / pc - 1) * 100);
  if (calibrate)
    g_print ("                    identity %.3f s; identity / plain = %.4f (%+.2f%%)\n",
        median (ident.cpu), median (ident.cpu) / pc, (median (ident.cpu) / pc - 1) * 100);
  g_print ("median wall time:   plain %.3f s, e2ee %.3f s\n", median (plain.wall), median (e2ee.wall));
  g_print ("time inside sframeenc + sframedec (thread CPU, all e2ee runs): %.3f s of %.3f s "
      "process CPU = %.3f%%\n", inside, e2ee.cpu_sum, share);

  g_print ("\nper frame, microseconds, all runs of a variant:\n");
  g_print ("  %-22s %10s %10s %10s %10s %8s\n", "element", "CPU p50", "CPU p99", "wall p50",
      "wall p99", "frames");
  print_per_frame ("sframe", e2ee);
  if (calibrate)
    print_per_frame ("identity", ident);

  auto spread = [] (const std::vector<double> & v) {
    return (*std::max_element (v.begin (), v.end ()) - *std::min_element (v.begin (), v.end ())) /
        median (v) * 100;
  };
  g_print ("\nrun-to-run spread of process CPU ((max - min) / median): plain %.2f%%, e2ee %.2f%%\n",
      spread (plain.cpu), spread (e2ee.cpu));
  g_print ("target, SFrame elements <= 1%% of the pipeline's CPU: %s (measured inside the elements: "
      "%.3f%%; whole process, e2ee vs plain: %+.2f%%)\n", share <= 1.0 ? "met" : "NOT met", share,
      (ec / pc - 1) * 100);
  g_print ("load average at end: %s\n", load_average ().c_str ());
  return 0;
}
