#include "e2e-lossy.h"

#include <mutex>
#include <random>

namespace {

struct LossyImpl {
  std::mutex lock;
  guint drop = 0, reorder = 0;  /* per mille */
  std::mt19937 rng;
  GstBuffer *held = nullptr;    /* waits for the next packet */
  e2e::LossyStats stats = {0, 0, 0};

  guint draw ()
  {
    return std::uniform_int_distribution<guint> (0, 999) (rng);
  }
};

}  // namespace

#define E2E_TYPE_LOSSY (e2e_lossy_get_type ())
G_DECLARE_FINAL_TYPE (E2ELossy, e2e_lossy, E2E, LOSSY, GstElement)

struct _E2ELossy {
  GstElement parent;
  GstPad *sinkpad, *srcpad;
  LossyImpl *impl;
};

G_DEFINE_TYPE (E2ELossy, e2e_lossy, GST_TYPE_ELEMENT)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("application/x-rtp"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("application/x-rtp"));

static GstFlowReturn
e2e_lossy_chain (GstPad *, GstObject * parent, GstBuffer * buf)
{
  auto self = E2E_LOSSY (parent);
  GstBuffer *held_back = nullptr;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    LossyImpl & impl = *self->impl;
    impl.stats.packets++;
    if (impl.held) {
      /* The held packet goes right after this one. */
      held_back = impl.held;
      impl.held = nullptr;
    } else {
      guint r = impl.draw ();
      if (r < impl.drop) {
        impl.stats.dropped++;
        gst_buffer_unref (buf);
        return GST_FLOW_OK;
      }
      if (r < impl.drop + impl.reorder) {
        impl.stats.reordered++;
        impl.held = buf;
        return GST_FLOW_OK;
      }
    }
  }
  GstFlowReturn ret = gst_pad_push (self->srcpad, buf);
  if (held_back) {
    GstFlowReturn held_ret = gst_pad_push (self->srcpad, held_back);
    if (ret == GST_FLOW_OK)
      ret = held_ret;
  }
  return ret;
}

static GstStateChangeReturn
e2e_lossy_change_state (GstElement * element, GstStateChange transition)
{
  auto self = E2E_LOSSY (element);
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (e2e_lossy_parent_class)->change_state (element,
      transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    gst_clear_buffer (&self->impl->held);
  }
  return ret;
}

static void
e2e_lossy_finalize (GObject * object)
{
  auto self = E2E_LOSSY (object);
  gst_clear_buffer (&self->impl->held);
  delete self->impl;
  G_OBJECT_CLASS (e2e_lossy_parent_class)->finalize (object);
}

static void
e2e_lossy_init (E2ELossy * self)
{
  self->impl = new LossyImpl ();
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, e2e_lossy_chain);
  GST_PAD_SET_PROXY_CAPS (self->sinkpad);
  GST_PAD_SET_PROXY_ALLOCATION (self->sinkpad);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  GST_PAD_SET_PROXY_CAPS (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
}

static void
e2e_lossy_class_init (E2ELossyClass * klass)
{
  auto element_class = GST_ELEMENT_CLASS (klass);
  G_OBJECT_CLASS (klass)->finalize = e2e_lossy_finalize;
  element_class->change_state = e2e_lossy_change_state;
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Lossy RTP link (test)",
      "Filter/Network", "Drops and reorders RTP packets", "gst-sframe developers");
}

namespace e2e {

void
lossy_register ()
{
  gst_element_register (nullptr, kLossyFactory, GST_RANK_NONE, E2E_TYPE_LOSSY);
}

void
lossy_configure (GstElement * lossy, guint drop_per_mille, guint reorder_per_mille, guint32 seed)
{
  auto self = E2E_LOSSY (lossy);
  std::lock_guard<std::mutex> lock (self->impl->lock);
  self->impl->drop = drop_per_mille;
  self->impl->reorder = reorder_per_mille;
  self->impl->rng.seed (seed);
}

LossyStats
lossy_stats (GstElement * lossy)
{
  auto self = E2E_LOSSY (lossy);
  std::lock_guard<std::mutex> lock (self->impl->lock);
  return self->impl->stats;
}

}  // namespace e2e
