/* What a member remembers of the sessions it has seen, so that none comes
 * back once it ended and no token admits two sessions: which session each
 * token's `jti` is bound to, which sessions ended, and the signed hellos
 * (and renewals) of those that ended while their token is still valid,
 * which welcomes carry so that joiners refuse them too. Internal to the
 * library; docs/key-protocol.md, "Ended and resting sessions".
 * GStreamer-free. */
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sframe {
namespace room {

class SessionLedger {
public:
  /* Whether `jti` is free for (device, session): unseen, or bound to it. */
  bool token_unused (const std::string & jti, const std::string & device, uint64_t session) const;
  /* Binds `jti` to (device, session), unless it is bound already; the
   * binding is kept until the token expires (`expires_s` plus `skew_s`),
   * after which every member refuses the token anyway. */
  void bind_token (const std::string & jti, const std::string & device, uint64_t session, int64_t expires_s,
      int64_t skew_s, int64_t now_s);

  bool ended (const std::string & device, uint64_t session) const;
  void end (const std::string & device, uint64_t session);

  /* An ended session's signed hello and newest renewal (or ""), kept
   * while its token, valid until `expires_s`, is. */
  void add_departed (std::string hello, std::string renewal, int64_t expires_s);
  /* The hellos (or renewals) of departed sessions whose token is still
   * valid at `now_s` (with `skew_s`); forgets the others. */
  std::vector<std::string> departed_texts (bool renewals, int64_t now_s, int64_t skew_s);

  size_t tokens_bound () const { return tokens_.size (); }

private:
  struct Binding {
    std::string device;
    uint64_t session = 0;
    int64_t forget_at_s = 0;
  };
  struct Departed {
    std::string hello;
    std::string renewal;
    int64_t expires_s = 0;
  };
  void forget_expired_tokens (int64_t now_s);

  std::map<std::string, Binding> tokens_;   /* by jti */
  std::set<std::pair<std::string, uint64_t>> ended_;
  std::vector<Departed> departed_;
  int64_t next_sweep_s_ = 0;
};

}  // namespace room
}  // namespace sframe
