#include "e2e-webrtc.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

namespace e2e {

namespace {

GstWebRTCSessionDescription *
take_description (GstPromise * promise, const char * field)
{
  GstWebRTCSessionDescription *desc = nullptr;
  const GstStructure *reply = gst_promise_get_reply (promise);
  if (reply)
    gst_structure_get (reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, nullptr);
  gst_promise_unref (promise);
  return desc;
}

void
print_sdp (const char * what, GstWebRTCSessionDescription * desc)
{
  if (!g_getenv ("E2E_VERBOSE"))
    return;
  gchar *text = gst_sdp_message_as_text (desc->sdp);
  g_print ("--- %s ---\n%s", what, text);
  g_free (text);
}

void
on_answer_created (GstPromise * promise, gpointer data)
{
  auto link = static_cast<PeerLink *> (data);
  GstWebRTCSessionDescription *answer = take_description (promise, "answer");
  if (!answer) {
    link->on_error ("create-answer gave no answer", link->data);
    return;
  }
  print_sdp ("answer", answer);
  g_signal_emit_by_name (link->answerer, "set-local-description", answer, nullptr);
  g_signal_emit_by_name (link->offerer, "set-remote-description", answer, nullptr);
  gst_webrtc_session_description_free (answer);
}

void
on_offer_created (GstPromise * promise, gpointer data)
{
  auto link = static_cast<PeerLink *> (data);
  GstWebRTCSessionDescription *offer = take_description (promise, "offer");
  if (!offer) {
    link->on_error ("create-offer gave no offer", link->data);
    return;
  }
  print_sdp ("offer", offer);
  g_signal_emit_by_name (link->offerer, "set-local-description", offer, nullptr);
  g_signal_emit_by_name (link->answerer, "set-remote-description", offer, nullptr);
  gst_webrtc_session_description_free (offer);
  GstPromise *answer = gst_promise_new_with_change_func (on_answer_created, link, nullptr);
  g_signal_emit_by_name (link->answerer, "create-answer", nullptr, answer);
}

void
on_negotiation_needed (GstElement *, gpointer data)
{
  auto link = static_cast<PeerLink *> (data);
  if (link->negotiating)
    return;
  link->negotiating = true;
  GstPromise *offer = gst_promise_new_with_change_func (on_offer_created, link, nullptr);
  g_signal_emit_by_name (link->offerer, "create-offer", nullptr, offer);
}

void
on_ice_candidate (GstElement *, guint mline, gchar * candidate, GstElement * peer)
{
  if (g_getenv ("E2E_VERBOSE"))
    g_print ("candidate %u: %s\n", mline, candidate);
  g_signal_emit_by_name (peer, "add-ice-candidate", mline, candidate);
}

bool
restrict_ice_to_loopback (GstElement * webrtc)
{
  GObject *ice = nullptr;
  gboolean added = FALSE;
  g_object_get (webrtc, "ice-agent", &ice, nullptr);
  if (!ice)
    return false;
  g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &added);
  g_object_unref (ice);
  return added;
}

}  // namespace

bool
peer_link_start (PeerLink * link)
{
  if (!restrict_ice_to_loopback (link->offerer) || !restrict_ice_to_loopback (link->answerer))
    return false;
  link->negotiating = false;
  g_signal_connect (link->offerer, "on-ice-candidate", G_CALLBACK (on_ice_candidate), link->answerer);
  g_signal_connect (link->answerer, "on-ice-candidate", G_CALLBACK (on_ice_candidate), link->offerer);
  g_signal_connect (link->offerer, "on-negotiation-needed", G_CALLBACK (on_negotiation_needed), link);
  return true;
}

}  // namespace e2e
