/* janusroomsink and janusroomsrc against a server that refuses the
 * connection: each says so in its stats (last-error) and tries again
 * (reconnects), while another thread reads those stats and the element
 * starts and stops over and over, as an appliance polling stats while it
 * restarts a room would. */
#include "sframe-check.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace check;

namespace {

/* A ws:// URL on 127.0.0.1 where nothing listens: a port bound and
 * closed again. */
std::string
refusing_server ()
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  fail_unless (bind (fd, reinterpret_cast<sockaddr *> (&addr), sizeof addr) == 0);
  fail_unless (getsockname (fd, reinterpret_cast<sockaddr *> (&addr), &len) == 0);
  close (fd);
  return "ws://127.0.0.1:" + std::to_string (ntohs (addr.sin_port));
}

const char *const kElements[] = {"janusroomsrc", "janusroomsink"};

}  // namespace

GST_START_TEST (test_stats_while_starting_and_stopping)
{
  const char *factory = kElements[__i__];
  if (!have_elements ({factory}))
    return;
  GstElement *element = make_element (factory, "room=standup server=" + refusing_server () +
      " local-address=127.0.0.1");
  gst_object_ref_sink (element);
  std::atomic<bool> done {false}, refused {false}, retried {false};
  std::atomic<guint> reads {0};
  std::thread reader ([&] {
    while (!done) {
      GstStructure *stats = nullptr;
      g_object_get (element, "stats", &stats, nullptr);
      const gchar *error = stats ? gst_structure_get_string (stats, "last-error") : nullptr;
      guint64 reconnects = 0;
      if (stats)
        gst_structure_get_uint64 (stats, "reconnects", &reconnects);
      if (error && g_strrstr (error, "connect"))
        refused = true;
      if (reconnects > 0)
        retried = true;
      if (stats)
        gst_structure_free (stats);
      reads++;
    }
  });
  for (int i = 0; i < 60; i++) {
    gst_element_set_state (element, GST_STATE_PAUSED);
    /* Mostly a few ms; now and then long enough to be refused and retry
     * (the first retry comes after 250 ms). */
    g_usleep (i % 10 == 9 ? 600000 : g_random_int_range (0, 3000));
    gst_element_set_state (element, GST_STATE_READY);
  }
  done = true;
  reader.join ();
  fail_unless (refused, "%s never reported the refused connection", factory);
  fail_unless (retried, "%s never tried again", factory);
  GST_INFO ("%s: %u stats reads", factory, reads.load ());
  gst_element_set_state (element, GST_STATE_NULL);
  gst_object_unref (element);
}
GST_END_TEST;

static Suite *
janus_room_suite (void)
{
  Suite *s = suite_create ("janus-room");
  TCase *tc = tcase_create ("lifecycle");
  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_stats_while_starting_and_stopping, 0, G_N_ELEMENTS (kElements));
  return s;
}

GST_CHECK_MAIN (janus_room);
