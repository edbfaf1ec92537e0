/* A test-only element between an RTP payloader and the sending webrtcbin
 * that loses and reorders RTP packets, as a network would. webrtcbin has
 * no hook between its two peers, and on loopback nothing is ever lost, so
 * the damage is done just before the packets enter the sender; the
 * receiver's rtpjitterbuffer sees the same sequence-number gaps and
 * reordering it would see from a bad network. Decisions come from a seeded
 * generator so a failing run can be replayed. */
#pragma once

#include <gst/gst.h>

namespace e2e {

constexpr const char *kLossyFactory = "sframee2elossy";

struct LossyStats {
  guint64 packets;    /* RTP packets in */
  guint64 dropped;
  guint64 reordered;  /* packets sent after the one that followed them */
};

/* Registers kLossyFactory in this process. */
void lossy_register ();

/* Per mille of packets dropped and of packets held back behind the next
 * one; set before data flows. */
void lossy_configure (GstElement * lossy, guint drop_per_mille, guint reorder_per_mille,
    guint32 seed);

LossyStats lossy_stats (GstElement * lossy);

}  // namespace e2e
