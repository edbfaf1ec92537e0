/* SessionLedger: a token admits one session; an ended session stays
 * ended; departed sessions are carried while their token is valid. */
#include <gst/sframe/keys/session-ledger.h>

#include <gtest/gtest.h>

using sframe::room::SessionLedger;

namespace {
const std::string kAlice (64, 'a');
const std::string kBob (64, 'b');
constexpr int64_t kSkew = 30;
}  // namespace

TEST (SessionLedger, ATokenIsBoundToTheFirstSessionThatUsesIt)
{
  SessionLedger ledger;
  EXPECT_TRUE (ledger.token_unused ("jti-1", kAlice, 7));
  ledger.bind_token ("jti-1", kAlice, 7, 1300, kSkew, 1000);
  EXPECT_TRUE (ledger.token_unused ("jti-1", kAlice, 7)) << "the same session, again";
  EXPECT_FALSE (ledger.token_unused ("jti-1", kAlice, 8)) << "another session of the device";
  EXPECT_FALSE (ledger.token_unused ("jti-1", kBob, 7)) << "another device";
  ledger.bind_token ("jti-1", kBob, 9, 1300, kSkew, 1001);
  EXPECT_FALSE (ledger.token_unused ("jti-1", kBob, 9)) << "a later binding never replaces the first";
  EXPECT_TRUE (ledger.token_unused ("jti-2", kBob, 9));
}

/* Bindings go once their token has expired (with the skew), when every
 * member refuses the token anyway; not before. */
TEST (SessionLedger, BindingsOfExpiredTokensAreForgotten)
{
  SessionLedger ledger;
  ledger.bind_token ("old", kAlice, 1, 1100, kSkew, 1000);
  ledger.bind_token ("long", kAlice, 2, 5000, kSkew, 1000);
  ledger.bind_token ("other", kBob, 3, 1200, kSkew, 1129);   /* 1129 < 1100 + 30: kept */
  EXPECT_EQ (ledger.tokens_bound (), 3u);
  ledger.bind_token ("late", kBob, 4, 5000, kSkew, 1200);   /* a minute on: a sweep */
  EXPECT_EQ (ledger.tokens_bound (), 3u);
  EXPECT_TRUE (ledger.token_unused ("old", kBob, 9));
  EXPECT_FALSE (ledger.token_unused ("long", kBob, 9));
}

TEST (SessionLedger, EndedSessionsStayEnded)
{
  SessionLedger ledger;
  EXPECT_FALSE (ledger.ended (kAlice, 7));
  ledger.end (kAlice, 7);
  EXPECT_TRUE (ledger.ended (kAlice, 7));
  EXPECT_FALSE (ledger.ended (kAlice, 8)) << "another session of the device";
  EXPECT_FALSE (ledger.ended (kBob, 7));
}

TEST (SessionLedger, DepartedSessionsAreCarriedWhileTheirTokenIsValid)
{
  SessionLedger ledger;
  ledger.add_departed ("hello-a", "", 1100);
  ledger.add_departed ("hello-b", "renew-b", 1500);
  EXPECT_EQ (ledger.departed_texts (false, 1000, kSkew), (std::vector<std::string> { "hello-a", "hello-b" }));
  EXPECT_EQ (ledger.departed_texts (true, 1000, kSkew), (std::vector<std::string> { "renew-b" }));
  EXPECT_EQ (ledger.departed_texts (false, 1129, kSkew), (std::vector<std::string> { "hello-a", "hello-b" }));
  EXPECT_EQ (ledger.departed_texts (false, 1130, kSkew), (std::vector<std::string> { "hello-b" }));
  EXPECT_TRUE (ledger.departed_texts (false, 1530, kSkew).empty ());
}
