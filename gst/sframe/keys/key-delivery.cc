/* Resend timing of our sender key (key-delivery.h). */
#include <gst/sframe/keys/key-delivery.h>

#include <algorithm>

namespace sframe {
namespace room {

namespace {

/* Resends of an unacknowledged key wait one resend period, 2x, 4x, then 8x. */
constexpr uint32_t kMaxResendBackoff = 3;

}  // namespace

void
KeyDelivery::sent (int64_t now_ms)
{
  resends_ = 0;
  int64_t wait = std::clamp (2 * last_round_ms_, resend_ms_, resend_ms_ << kMaxResendBackoff);
  resend_due_ms_ = now_ms + wait;
  sent_ms_ = now_ms;
  last_ack_ms_ = now_ms;
}

bool
KeyDelivery::acked (const std::string & member, int64_t now_ms)
{
  if (!awaited_.erase (member))
    return false;
  last_ack_ms_ = now_ms;
  if (awaited_.empty () && resends_ == 0)
    last_round_ms_ = now_ms - sent_ms_;
  return true;
}

void
KeyDelivery::all_acked (int64_t now_ms)
{
  if (!awaited_.empty () && resends_ == 0)
    last_round_ms_ = now_ms - sent_ms_;
  awaited_.clear ();
}

void
KeyDelivery::resent (int64_t now_ms)
{
  resends_++;
  resend_due_ms_ = now_ms + (resend_ms_ << std::min<uint32_t> (resends_, kMaxResendBackoff));
}

}  // namespace room
}  // namespace sframe
