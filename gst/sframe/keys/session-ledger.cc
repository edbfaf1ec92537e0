/* SessionLedger: see session-ledger.h. */
#include "session-ledger.h"

#include <algorithm>

namespace sframe {
namespace room {

namespace {
/* Expired bindings are swept at most this often: a sweep walks them all. */
constexpr int64_t kSweepEveryS = 60;
}  // namespace

bool
SessionLedger::token_unused (const std::string & jti, const std::string & device, uint64_t session) const
{
  auto bound = tokens_.find (jti);
  return bound == tokens_.end () || (bound->second.device == device && bound->second.session == session);
}

void
SessionLedger::bind_token (const std::string & jti, const std::string & device, uint64_t session,
    int64_t expires_s, int64_t skew_s, int64_t now_s)
{
  if (now_s >= next_sweep_s_)
    forget_expired_tokens (now_s);
  auto bound = tokens_.emplace (jti, Binding { device, session, expires_s + skew_s });
  /* The same session may bring the same token again (a welcome's copy of
   * its hello): keep the later expiry, never another session. */
  if (!bound.second && bound.first->second.device == device && bound.first->second.session == session)
    bound.first->second.forget_at_s = std::max (bound.first->second.forget_at_s, expires_s + skew_s);
}

void
SessionLedger::forget_expired_tokens (int64_t now_s)
{
  next_sweep_s_ = now_s + kSweepEveryS;
  for (auto it = tokens_.begin (); it != tokens_.end ();)
    it = it->second.forget_at_s < now_s ? tokens_.erase (it) : std::next (it);
}

bool
SessionLedger::ended (const std::string & device, uint64_t session) const
{
  return ended_.count ({ device, session }) > 0;
}

void
SessionLedger::end (const std::string & device, uint64_t session)
{
  ended_.insert ({ device, session });
}

void
SessionLedger::add_departed (std::string hello, std::string renewal, int64_t expires_s)
{
  departed_.push_back ({ std::move (hello), std::move (renewal), expires_s });
}

std::vector<std::string>
SessionLedger::departed_texts (bool renewals, int64_t now_s, int64_t skew_s)
{
  departed_.erase (std::remove_if (departed_.begin (), departed_.end (),
                       [&] (const Departed & d) { return now_s >= d.expires_s + skew_s; }),
      departed_.end ());
  std::vector<std::string> texts;
  for (const auto & d : departed_) {
    const std::string & text = renewals ? d.renewal : d.hello;
    if (!text.empty ())
      texts.push_back (text);
  }
  return texts;
}

}  // namespace room
}  // namespace sframe
