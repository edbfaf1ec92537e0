/* Two webrtcbins of one process connected to each other: offer/answer and
 * ICE candidates handed over directly, ICE on 127.0.0.1 only.
 * on-negotiation-needed and promise replies come on webrtcbin's own
 * threads, so nothing here ever waits on a promise: each step runs from
 * the previous step's promise callback. */
#pragma once

#include <gst/gst.h>

namespace e2e {

struct PeerLink {
  GstElement *offerer;
  GstElement *answerer;
  /* Called (from a webrtcbin thread) when negotiation cannot go on. */
  void (*on_error) (const char * what, gpointer data);
  gpointer data;
  bool negotiating;  /* only touched on the offerer's thread */
};

/* Restricts both agents to 127.0.0.1 and negotiates when the offerer asks
 * for it. `link` must outlive both elements' activity. FALSE when an agent
 * refused the loopback address. Set E2E_VERBOSE to print the SDP. */
bool peer_link_start (PeerLink * link);

}  // namespace e2e
