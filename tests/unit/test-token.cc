/* Join tokens (EdDSA JWTs): the RFC 8037 appendix A Ed25519 example,
 * base64url (RFC 4648 vectors and strictness), the happy path, and every
 * refusal reason, each provoked on its own. Time is always passed in, so
 * nothing here sleeps. */
#include <gst/sframe/core/base64url.h>
#include <gst/sframe/keys/token.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <functional>
#include <string>

using sframe::ByteView;
using sframe::Identity;
using sframe::Status;
using json = nlohmann::json;
namespace token = sframe::token;

namespace {

constexpr int64_t kNow = 1700000000;

ByteView
view (const std::vector<uint8_t> & v)
{
  return {v.data (), v.size ()};
}

ByteView
view (const std::string & s)
{
  return {reinterpret_cast<const uint8_t *> (s.data ()), s.size ()};
}

std::string
b64 (const std::string & s)
{
  return sframe::base64url_encode (view (s));
}

std::string
b64 (const std::vector<uint8_t> & v)
{
  return sframe::base64url_encode (view (v));
}

std::string
unb64 (const std::string & s)
{
  std::vector<uint8_t> out;
  EXPECT_TRUE (sframe::base64url_decode (s, &out)) << s;
  return std::string (out.begin (), out.end ());
}

struct Decoded {
  json header;
  json claims;
  std::string signature;   /* base64url, as in the token */
};

Decoded
decode (const std::string & tok)
{
  size_t d1 = tok.find ('.'), d2 = tok.find ('.', d1 + 1);
  Decoded d;
  d.header = json::parse (unb64 (tok.substr (0, d1)));
  d.claims = json::parse (unb64 (tok.substr (d1 + 1, d2 - d1 - 1)));
  d.signature = tok.substr (d2 + 1);
  return d;
}

/* A token with arbitrary header and claims text, signed by `signer`. */
std::string
craft (const std::string & header, const std::string & claims, const Identity & signer)
{
  std::string input = b64 (header) + "." + b64 (claims);
  std::vector<uint8_t> sig;
  EXPECT_EQ (signer.sign (view (input), &sig), Status::ok);
  return input + "." + b64 (sig);
}

Identity
make_identity ()
{
  Identity id;
  EXPECT_EQ (Identity::generate (&id), Status::ok);
  return id;
}

class Tokens : public ::testing::Test {
protected:
  Identity authority_ = make_identity ();
  Identity other_authority_ = make_identity ();
  Identity device_ = make_identity ();

  token::IssueRequest request () const
  {
    token::IssueRequest r;
    r.room = "room-1";
    r.member_id = "member-7";
    r.display_name = "Ada Lovelace";
    r.role = token::Role::member;
    r.device_public_key = device_.public_key ();
    return r;
  }

  std::string issue (const token::IssueRequest & req, int64_t now = kNow)
  {
    std::string tok;
    sframe::Result r = token::issue (authority_, req, now, &tok);
    EXPECT_EQ (r.status, Status::ok) << r.message;
    return tok;
  }
  std::string issue () { return issue (request ()); }

  token::VerifyOptions options (int64_t now = kNow) const
  {
    token::VerifyOptions o;
    o.room = "room-1";
    o.now = now;
    return o;
  }

  /* Verifies with a fresh replay cache. */
  token::VerifyResult check (const std::string & tok, int64_t now = kNow)
  {
    token::JtiCache cache;
    return token::verify (tok, view (authority_.public_key ()), options (now), cache);
  }

  /* The claims of a genuine token, edited, re-signed by the authority:
   * only the claim checks can object. */
  std::string resign (const std::function<void (json &)> & edit)
  {
    Decoded d = decode (issue ());
    edit (d.claims);
    return craft (d.header.dump (), d.claims.dump (), authority_);
  }
};

/* RFC 8037 appendix A.1 (key), A.3 (thumbprint) and A.4 (JWS). Values as
 * published in the RFC: the signature of "Example of Ed25519 signing" under
 * {"alg":"EdDSA"}. Ed25519 is deterministic, so signing must reproduce it. */
TEST (Rfc8037, Ed25519JwsExample)
{
  const std::string d_b64 = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
  const std::string x_b64 = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
  const std::string header_b64 = "eyJhbGciOiJFZERTQSJ9";
  const std::string payload_b64 = "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  const std::string sig_b64 =
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

  EXPECT_EQ (b64 (std::string ("{\"alg\":\"EdDSA\"}")), header_b64);
  EXPECT_EQ (b64 (std::string ("Example of Ed25519 signing")), payload_b64);

  sframe::SecureBytes d;
  std::vector<uint8_t> x;
  ASSERT_TRUE (sframe::base64url_decode (d_b64, &d));
  ASSERT_TRUE (sframe::base64url_decode (x_b64, &x));
  Identity key;
  ASSERT_EQ (Identity::from_private_key (d.view (), &key), Status::ok);
  EXPECT_EQ (key.public_key (), x) << "public key derived from d must be x (A.1)";

  std::string input = header_b64 + "." + payload_b64;
  std::vector<uint8_t> sig;
  ASSERT_EQ (key.sign (view (input), &sig), Status::ok);
  EXPECT_EQ (b64 (sig), sig_b64);

  std::vector<uint8_t> rfc_sig;
  ASSERT_TRUE (sframe::base64url_decode (sig_b64, &rfc_sig));
  EXPECT_TRUE (sframe::verify_signature (view (x), view (input), view (rfc_sig)));
  rfc_sig[10] ^= 1;
  EXPECT_FALSE (sframe::verify_signature (view (x), view (input), view (rfc_sig)));

  /* A.3: the JWK thumbprint, SHA-256 over the canonical JWK, base64url. */
  std::string jwk = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"" + x_b64 + "\"}";
  std::vector<uint8_t> digest (32);
  unsigned int len = 0;
  ASSERT_EQ (EVP_Digest (jwk.data (), jwk.size (), digest.data (), &len, EVP_sha256 (), nullptr), 1);
  EXPECT_EQ (b64 (digest), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");

  /* The RFC's JWS is not a join token: it has no claims object. */
  token::JtiCache cache;
  token::VerifyOptions o;
  o.room = "r";
  o.now = kNow;
  EXPECT_EQ (token::verify (input + "." + sig_b64, view (x), o, cache).status, Status::malformed_token);
}

TEST (Base64Url, Rfc4648Vectors)
{
  const char *cases[][2] = {{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
    {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto & c : cases) {
    EXPECT_EQ (b64 (std::string (c[0])), c[1]);
    std::vector<uint8_t> out;
    ASSERT_TRUE (sframe::base64url_decode (c[1], &out)) << c[1];
    EXPECT_EQ (std::string (out.begin (), out.end ()), c[0]);
  }
  /* The URL alphabet: 0xfb 0xff is "+/8" in standard base64. */
  EXPECT_EQ (b64 (std::vector<uint8_t> {0xfb, 0xff}), "-_8");
  std::vector<uint8_t> out;
  ASSERT_TRUE (sframe::base64url_decode ("-_8", &out));
  EXPECT_EQ (out, (std::vector<uint8_t> {0xfb, 0xff}));
}

TEST (Base64Url, StrictDecoding)
{
  std::vector<uint8_t> out = {42};
  for (const char *bad : {"Zg==", "Zm8=", "Z", "Zm9vY", "Zm+v", "Zm/v", "Zm9 v", "Zm9v\n", " Zm9v", "Zm9v.",
           "Zh", "Zm9", "Zm9vYh", "Zm9vYmF"}) {
    EXPECT_FALSE (sframe::base64url_decode (bad, &out)) << bad;
  }
  EXPECT_FALSE (sframe::base64url_decode (std::string_view ("Zm9v\0Zm9v", 9), &out)) << "embedded NUL";
  /* Non-canonical trailing bits: "Zh" and "Zg" would both be "f". */
  EXPECT_FALSE (sframe::base64url_decode ("Zm9=", &out));
  EXPECT_EQ (out, std::vector<uint8_t> {42}) << "failed decodes leave the output alone";
  sframe::SecureBytes secret;
  EXPECT_FALSE (sframe::base64url_decode ("Zh", &secret));
  EXPECT_FALSE (sframe::base64url_decode ("Zg=", &secret));
}

TEST (Base64Url, RoundTripAllLengths)
{
  for (size_t n = 0; n < 100; n++) {
    std::vector<uint8_t> in (n);
    for (size_t i = 0; i < n; i++)
      in[i] = static_cast<uint8_t> (i * 37 + n);
    std::string text = b64 (in);
    EXPECT_EQ (text.size (), (n * 4 + 2) / 3);
    EXPECT_EQ (text.find_first_of ("+/="), std::string::npos);
    std::vector<uint8_t> out;
    ASSERT_TRUE (sframe::base64url_decode (text, &out));
    EXPECT_EQ (out, in);
    sframe::SecureBytes secret;
    ASSERT_TRUE (sframe::base64url_decode (text, &secret));
    EXPECT_TRUE (secret.equals (view (in)));
  }
}

TEST (Grants, ParseAndPrint)
{
  uint32_t g = 0;
  ASSERT_TRUE (token::parse_grants ("publish-audio,subscribe", &g));
  EXPECT_EQ (g, token::kGrantPublishAudio | token::kGrantSubscribe);
  EXPECT_EQ (token::grants_to_string (g), "publish-audio,subscribe");
  ASSERT_TRUE (token::parse_grants ("", &g));
  EXPECT_EQ (g, 0u);
  ASSERT_TRUE (token::parse_grants ("subscribe,publish-screen,publish-video,publish-audio", &g));
  EXPECT_EQ (g, token::kAllGrants);
  for (const char *bad : {"admin", "subscribe,subscribe", "subscribe,", ",subscribe", "publish audio",
           "subscribe, publish-audio"})
    EXPECT_FALSE (token::parse_grants (bad, &g)) << bad;
  EXPECT_STREQ (token::grant_name (token::kGrantPublishScreen), "publish-screen");
  EXPECT_EQ (token::grant_name (3), nullptr);
}

TEST_F (Tokens, IssueAndVerify)
{
  auto req = request ();
  req.role = token::Role::host;
  req.grants = token::kGrantSubscribe | token::kGrantPublishScreen;
  std::string tok;
  token::Claims issued;
  ASSERT_EQ (token::issue (authority_, req, kNow, &tok, &issued).status, Status::ok);

  Decoded d = decode (tok);
  EXPECT_EQ (d.header, json ({{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", authority_.short_fingerprint ()}}));
  EXPECT_EQ (d.claims.at ("iss"), authority_.fingerprint ());
  EXPECT_EQ (d.claims.at ("grants"), json ({"publish-screen", "subscribe"}));
  EXPECT_EQ (d.claims.at ("dpk"), b64 (device_.public_key ()));
  EXPECT_EQ (d.claims.at ("exp").get<int64_t> (), kNow + token::kDefaultLifetime);
  EXPECT_EQ (d.claims.size (), 10u);

  auto r = check (tok);
  ASSERT_EQ (r.status, Status::ok) << sframe::status_name (r.status) << ": " << r.message;
  const auto & c = r.claims;
  EXPECT_EQ (c.issuer, authority_.fingerprint ());
  EXPECT_EQ (c.room, "room-1");
  EXPECT_EQ (c.member_id, "member-7");
  EXPECT_EQ (c.display_name, "Ada Lovelace");
  EXPECT_EQ (c.role, token::Role::host);
  EXPECT_EQ (c.device_public_key, device_.public_key ());
  EXPECT_EQ (c.grants, req.grants);
  EXPECT_EQ (c.issued_at, kNow);
  EXPECT_EQ (c.expires_at, kNow + 300);
  EXPECT_EQ (c.jti, issued.jti);
  std::vector<uint8_t> jti;
  ASSERT_TRUE (sframe::base64url_decode (c.jti, &jti));
  EXPECT_EQ (jti.size (), token::kJtiSize);
  /* Two tokens for the same request differ in jti. */
  EXPECT_NE (decode (issue ()).claims.at ("jti"), decode (issue ()).claims.at ("jti"));
}

TEST_F (Tokens, TimeWindowBoundaries)
{
  std::string tok = issue ();
  const int64_t skew = token::kDefaultClockSkew, exp = kNow + 300;
  EXPECT_EQ (check (tok, exp + skew - 1).status, Status::ok);
  EXPECT_EQ (check (tok, exp + skew).status, Status::expired);
  EXPECT_EQ (check (tok, exp + 100000).status, Status::expired);
  EXPECT_EQ (check (tok, kNow - skew).status, Status::ok);
  EXPECT_EQ (check (tok, kNow - skew - 1).status, Status::not_yet_valid);
  EXPECT_EQ (check (tok, 0).status, Status::not_yet_valid);

  /* Without skew allowance, now == exp is already too late. */
  token::JtiCache cache;
  auto o = options (exp);
  o.clock_skew = 0;
  EXPECT_EQ (token::verify (tok, view (authority_.public_key ()), o, cache).status, Status::expired);
  o.now = exp - 1;
  EXPECT_EQ (token::verify (tok, view (authority_.public_key ()), o, cache).status, Status::ok);
}

TEST_F (Tokens, WrongRoom)
{
  token::JtiCache cache;
  auto o = options ();
  o.room = "room-2";
  auto r = token::verify (issue (), view (authority_.public_key ()), o, cache);
  EXPECT_EQ (r.status, Status::wrong_room);
  EXPECT_EQ (cache.size (), 0u) << "a refused token must not burn its jti";
  o.room = "Room-1";
  EXPECT_EQ (token::verify (issue (), view (authority_.public_key ()), o, cache).status, Status::wrong_room);
}

TEST_F (Tokens, WrongAuthority)
{
  token::JtiCache cache;
  auto r = token::verify (issue (), view (other_authority_.public_key ()), options (), cache);
  EXPECT_EQ (r.status, Status::wrong_authority);
  EXPECT_FALSE (r.claims.issuer.size ()) << "claims are only filled for a valid token";

  /* iss right but kid naming another key: refused too. */
  Decoded d = decode (issue ());
  d.header["kid"] = other_authority_.short_fingerprint ();
  EXPECT_EQ (check (craft (d.header.dump (), d.claims.dump (), authority_)).status, Status::wrong_authority);
  /* kid is optional. */
  d.header.erase ("kid");
  EXPECT_EQ (check (craft (d.header.dump (), d.claims.dump (), authority_)).status, Status::ok);
}

TEST_F (Tokens, SignedByTheDeviceInsteadOfTheAuthority)
{
  /* The device issues itself a token: iss is the device, not the authority. */
  std::string tok;
  ASSERT_EQ (token::issue (device_, request (), kNow, &tok).status, Status::ok);
  EXPECT_EQ (check (tok).status, Status::wrong_authority);
  /* ... or forges iss and kid of the authority: the signature fails. */
  Decoded d = decode (issue ());
  EXPECT_EQ (check (craft (d.header.dump (), d.claims.dump (), device_)).status, Status::bad_signature);
  /* The same content signed by the authority passes: only the key differs. */
  EXPECT_EQ (check (craft (d.header.dump (), d.claims.dump (), authority_)).status, Status::ok);
}

TEST_F (Tokens, TamperedClaims)
{
  std::string tok = issue ();
  Decoded d = decode (tok);
  size_t d1 = tok.find ('.'), d2 = tok.find ('.', d1 + 1);
  auto swap_claims = [&] (const json & claims) {
    return tok.substr (0, d1) + "." + b64 (claims.dump ()) + tok.substr (d2);
  };
  json c = d.claims;
  c["room"] = "room-2";
  EXPECT_EQ (check (swap_claims (c)).status, Status::bad_signature);
  c = d.claims;
  c["grants"] = json::array ({"publish-audio", "publish-video", "publish-screen", "subscribe"});
  EXPECT_EQ (check (swap_claims (c)).status, Status::bad_signature);
  c = d.claims;
  c["exp"] = kNow + 3000;
  EXPECT_EQ (check (swap_claims (c)).status, Status::bad_signature);
  c = d.claims;
  c["dpk"] = b64 (other_authority_.public_key ());
  EXPECT_EQ (check (swap_claims (c)).status, Status::bad_signature);
  /* The same JSON re-serialised differently is a different signing input. */
  EXPECT_EQ (check (tok.substr (0, d1) + "." + b64 (d.claims.dump (1)) + tok.substr (d2)).status, Status::bad_signature);
  /* The header is signed as well. */
  json h = d.header;
  h["typ"] = "JWT";
  h["x"] = 1;
  EXPECT_EQ (check (b64 (h.dump ()) + tok.substr (d1)).status, Status::bad_signature);
  EXPECT_EQ (check (tok).status, Status::ok);
}

TEST_F (Tokens, TamperedSignature)
{
  std::string tok = issue ();
  size_t d2 = tok.rfind ('.');
  std::vector<uint8_t> sig;
  ASSERT_TRUE (sframe::base64url_decode (tok.substr (d2 + 1), &sig));
  for (size_t bit = 0; bit < sig.size () * 8; bit += 5) {
    auto bad = sig;
    bad[bit / 8] ^= static_cast<uint8_t> (1 << (bit % 8));
    EXPECT_EQ (check (tok.substr (0, d2 + 1) + b64 (bad)).status, Status::bad_signature) << "bit " << bit;
  }
  sig.pop_back ();
  EXPECT_EQ (check (tok.substr (0, d2 + 1) + b64 (sig)).status, Status::malformed_token);
  EXPECT_EQ (check (tok.substr (0, d2 + 1)).status, Status::malformed_token);
}

TEST_F (Tokens, OnlyEdDsaAccepted)
{
  std::string tok = issue ();
  Decoded d = decode (tok);
  std::string claims_b64 = tok.substr (tok.find ('.') + 1, tok.rfind ('.') - tok.find ('.') - 1);
  /* alg "none" with an empty signature (RFC 7519 unsecured JWT). */
  std::string none = b64 (std::string ("{\"alg\":\"none\",\"typ\":\"JWT\"}")) + "." + claims_b64 + ".";
  auto r = check (none);
  EXPECT_EQ (r.status, Status::bad_algorithm);
  EXPECT_NE (r.message.find ("none"), std::string::npos);

  /* HS256 keyed with the authority's public key: the classic confusion. */
  std::string hs_input = b64 (std::string ("{\"alg\":\"HS256\",\"typ\":\"JWT\"}")) + "." + claims_b64;
  uint8_t mac[32];
  size_t mac_len = 0;
  ASSERT_NE (EVP_Q_mac (nullptr, "HMAC", nullptr, "SHA256", nullptr, authority_.public_key ().data (), 32,
                 reinterpret_cast<const uint8_t *> (hs_input.data ()), hs_input.size (), mac, sizeof mac,
                 &mac_len),
      nullptr);
  EXPECT_EQ (check (hs_input + "." + b64 (std::vector<uint8_t> (mac, mac + mac_len))).status, Status::bad_algorithm);

  /* Other spellings, even signed by the right key. */
  for (const char *alg : {"\"Ed25519\"", "\"eddsa\"", "\"ES256\"", "\"\"", "null", "[\"EdDSA\"]"}) {
    json h = d.header;
    h["alg"] = json::parse (alg);
    EXPECT_EQ (check (craft (h.dump (), d.claims.dump (), authority_)).status, Status::bad_algorithm) << alg;
  }
  json h = d.header;
  h.erase ("alg");
  EXPECT_EQ (check (craft (h.dump (), d.claims.dump (), authority_)).status, Status::malformed_token);
}

TEST_F (Tokens, Replayed)
{
  token::JtiCache cache;
  std::string tok = issue ();
  ByteView key = view (authority_.public_key ());
  EXPECT_EQ (token::verify (tok, key, options (), cache).status, Status::ok);
  EXPECT_EQ (cache.size (), 1u);
  EXPECT_EQ (token::verify (tok, key, options (kNow + 10), cache).status, Status::token_replayed);
  /* A different token for the same member is a different jti. */
  EXPECT_EQ (token::verify (issue (), key, options (kNow + 10), cache).status, Status::ok);
  /* Another verifier (another cache) has not seen it. */
  token::JtiCache fresh;
  EXPECT_EQ (token::verify (tok, key, options (), fresh).status, Status::ok);
}

TEST_F (Tokens, ReplayCacheIsBoundedAndFailsClosed)
{
  token::JtiCache cache (2);
  ByteView key = view (authority_.public_key ());
  std::string t1 = issue (), t2 = issue (), t3 = issue ();
  EXPECT_EQ (token::verify (t1, key, options (), cache).status, Status::ok);
  EXPECT_EQ (token::verify (t2, key, options (), cache).status, Status::ok);
  EXPECT_EQ (token::verify (t3, key, options (), cache).status, Status::replay_cache_full);
  EXPECT_EQ (cache.size (), 2u);
  /* Entries are forgotten once their tokens could no longer be accepted. */
  std::string later = issue (request (), kNow + 400);
  EXPECT_EQ (token::verify (later, key, options (kNow + 400), cache).status, Status::ok);
  EXPECT_EQ (cache.size (), 1u);
  EXPECT_EQ (token::verify (later, key, options (kNow + 401), cache).status, Status::token_replayed);

  token::JtiCache direct (1);
  using Outcome = token::JtiCache::Outcome;
  EXPECT_EQ (direct.remember ("a", 100, 0), Outcome::remembered);
  EXPECT_EQ (direct.remember ("a", 100, 99), Outcome::seen);
  EXPECT_EQ (direct.remember ("b", 100, 99), Outcome::full);
  EXPECT_TRUE (direct.contains ("a"));
  EXPECT_EQ (direct.remember ("b", 200, 100), Outcome::remembered);
  EXPECT_FALSE (direct.contains ("a"));
}

TEST_F (Tokens, LifetimeLimits)
{
  auto req = request ();
  req.lifetime = 7200;
  std::string tok = issue (req);
  auto r = check (tok);
  EXPECT_EQ (r.status, Status::lifetime_too_long);
  token::JtiCache cache;
  auto o = options ();
  o.max_lifetime = 7200;
  EXPECT_EQ (token::verify (tok, view (authority_.public_key ()), o, cache).status, Status::ok);
  o.max_lifetime = 7199;
  EXPECT_EQ (token::verify (tok, view (authority_.public_key ()), o, cache).status, Status::lifetime_too_long);

  /* Issuing: 1 s .. 24 h. */
  std::string out;
  req.lifetime = token::kMaxIssueLifetime;
  EXPECT_EQ (token::issue (authority_, req, kNow, &out).status, Status::ok);
  for (int64_t bad : {token::kMaxIssueLifetime + 1, int64_t (0), int64_t (-5)}) {
    req.lifetime = bad;
    out.clear ();
    sframe::Result r = token::issue (authority_, req, kNow, &out);
    EXPECT_EQ (r.status, Status::invalid_argument) << bad;
    EXPECT_NE (r.message.find ("lifetime"), std::string::npos);
    EXPECT_TRUE (out.empty ());
  }
  /* A hand-made token claiming a week is refused even with the widest setting. */
  std::string week = resign ([] (json & c) { c["exp"] = c["iat"].get<int64_t> () + 7 * 86400; });
  o.max_lifetime = token::kMaxIssueLifetime;
  EXPECT_EQ (token::verify (week, view (authority_.public_key ()), o, cache).status, Status::lifetime_too_long);
}

TEST_F (Tokens, MissingClaims)
{
  for (const char *name : {"iss", "room", "sub", "name", "role", "dpk", "grants", "iat", "exp", "jti"}) {
    std::string tok = resign ([&] (json & c) { c.erase (name); });
    auto r = check (tok);
    EXPECT_EQ (r.status, Status::missing_claim) << name;
    EXPECT_EQ (r.message, name);
  }
  /* Unknown extra claims are ignored (RFC 7519 section 4). */
  EXPECT_EQ (check (resign ([] (json & c) { c["aud"] = "x"; })).status, Status::ok);
}

TEST_F (Tokens, GarbageClaims)
{
  std::vector<uint8_t> short_key (device_.public_key ().begin (), device_.public_key ().end () - 1);
  std::vector<uint8_t> jti15 (15, 7);
  const std::vector<std::pair<const char *, json>> cases = {
    {"iss", 5},
    {"room", 42}, {"room", ""}, {"room", "a\nb"}, {"room", std::string (257, 'r')},
    {"sub", nullptr}, {"sub", "\x1b[31m"},
    {"name", json::array ()}, {"name", "tab\there"},
    {"role", "admin"}, {"role", "HOST"}, {"role", 1},
    {"dpk", "abc"}, {"dpk", b64 (short_key)}, {"dpk", b64 (device_.public_key ()) + "="}, {"dpk", 3},
    {"grants", "subscribe"}, {"grants", {"subscribe", "subscribe"}}, {"grants", {"admin"}}, {"grants", {1}},
    {"iat", -1}, {"iat", 1.5}, {"iat", "1700000000"}, {"iat", 1e20},
    {"exp", kNow}, {"exp", kNow - 1}, {"exp", 1700000300.0}, {"exp", uint64_t (1) << 63},
    {"jti", b64 (jti15)}, {"jti", 12345}, {"jti", ""},
  };
  for (const auto & entry : cases) {
    /* Named copies, not a structured binding: C++17 lambdas cannot capture one (clang refuses). */
    const std::string & name = entry.first;
    const json & value = entry.second;
    std::string tok = resign ([&] (json & c) { c[name] = value; });
    auto r = check (tok);
    /* iss is compared before the signature; a non-string is bad_claim. */
    EXPECT_EQ (r.status, Status::bad_claim) << name << " = " << value.dump ();
    EXPECT_EQ (r.message, name) << value.dump ();
  }
}

TEST_F (Tokens, MalformedTokens)
{
  std::string tok = issue ();
  size_t d1 = tok.find ('.'), d2 = tok.rfind ('.');
  std::string h = tok.substr (0, d1), c = tok.substr (d1 + 1, d2 - d1 - 1), s = tok.substr (d2 + 1);
  const std::vector<std::string> bad = {
    "", ".", "..", "...", h, h + "." + c, h + "." + c + "." + s + "." + s, h + ".." + s,
    h + "=." + c + "." + s,                 /* padding */
    h + "." + c + "." + s + "=",
    "e30." + c + "." + s,                   /* {} header: no alg */
    b64 (std::string ("[]")) + "." + c + "." + s,
    b64 (std::string ("{\"alg\":\"EdDSA\"")) + "." + c + "." + s,
    h + "." + b64 (std::string ("\"room-1\"")) + "." + s,
    h + "." + b64 (std::string ("{\"room\":1,}")) + "." + s,
    h + ".+" + c.substr (1) + "." + s,
    " " + tok, tok + "\n",
    std::string (token::kMaxTokenSize + 1, 'a'),
  };
  for (const auto & t : bad)
    EXPECT_EQ (check (t).status, Status::malformed_token) << t.substr (0, 80);
  EXPECT_EQ (check (tok).status, Status::ok);

  /* Signed by the authority and still refused. */
  Decoded d = decode (tok);
  std::string claims = d.claims.dump ();
  std::string dup = claims.substr (0, claims.size () - 1) + ",\"room\":\"room-1\"}";
  EXPECT_EQ (check (craft (d.header.dump (), dup, authority_)).status, Status::malformed_token) << "duplicate member";
  std::string bad_utf8 = claims;
  bad_utf8.replace (bad_utf8.find ("Ada"), 3, "A\xff" "a");
  EXPECT_EQ (check (craft (d.header.dump (), bad_utf8, authority_)).status, Status::malformed_token) << "invalid UTF-8";
  json hdr = d.header;
  hdr["crit"] = {"exp"};
  EXPECT_EQ (check (craft (hdr.dump (), claims, authority_)).status, Status::malformed_token) << "crit";
  hdr = d.header;
  hdr["typ"] = "JOSE+JSON";
  EXPECT_EQ (check (craft (hdr.dump (), claims, authority_)).status, Status::malformed_token) << "typ";
  hdr = d.header;
  hdr["kid"] = 7;
  EXPECT_EQ (check (craft (hdr.dump (), claims, authority_)).status, Status::malformed_token) << "kid";
  /* Header fields never choose the key: an embedded jwk is ignored. */
  hdr = d.header;
  hdr["jwk"] = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", b64 (device_.public_key ())}};
  EXPECT_EQ (check (craft (hdr.dump (), claims, device_)).status, Status::bad_signature);
}

TEST_F (Tokens, InvalidOptions)
{
  token::JtiCache cache;
  std::string tok = issue ();
  EXPECT_EQ (token::verify (tok, {authority_.public_key ().data (), 31}, options (), cache).status,
      Status::invalid_argument);
  auto o = options ();
  o.clock_skew = -1;
  EXPECT_EQ (token::verify (tok, view (authority_.public_key ()), o, cache).status, Status::invalid_argument);
  o = options ();
  o.max_lifetime = 0;
  EXPECT_EQ (token::verify (tok, view (authority_.public_key ()), o, cache).status, Status::invalid_argument);
  o.max_lifetime = token::kMaxIssueLifetime + 1;
  EXPECT_EQ (token::verify (tok, view (authority_.public_key ()), o, cache).status, Status::invalid_argument);
  EXPECT_EQ (token::verify (tok, view (authority_.public_key ()), options (), cache).status, Status::ok);
}

TEST_F (Tokens, IssueRejectsBadRequests)
{
  std::string out;
  auto expect_refused = [&] (const token::IssueRequest & req, const char *what) {
    sframe::Result r = token::issue (authority_, req, kNow, &out);
    EXPECT_EQ (r.status, Status::invalid_argument) << what;
    EXPECT_FALSE (r.message.empty ()) << what;
    EXPECT_TRUE (out.empty ()) << what;
  };
  auto req = request ();
  req.room = "";
  expect_refused (req, "empty room");
  req = request ();
  req.display_name = "Ada\nLovelace";
  expect_refused (req, "control character");
  req = request ();
  req.display_name = "Ada \xc3";
  expect_refused (req, "invalid UTF-8");
  req = request ();
  req.member_id = std::string (257, 'm');
  expect_refused (req, "long member id");
  req = request ();
  req.device_public_key.pop_back ();
  expect_refused (req, "short device key");
  req = request ();
  req.grants = 1u << 7;
  expect_refused (req, "unknown grant");
  EXPECT_EQ (token::issue (authority_, request (), kNow, &out).status, Status::ok);
}

TEST_F (Tokens, DecodeUnverified)
{
  std::string header, claims;
  std::string tok;
  /* Even a token from an unknown authority decodes: nothing is checked. */
  ASSERT_EQ (token::issue (other_authority_, request (), kNow, &tok).status, Status::ok);
  ASSERT_EQ (token::decode_unverified (tok, &header, &claims), Status::ok);
  EXPECT_EQ (json::parse (claims).at ("room"), "room-1");
  EXPECT_EQ (json::parse (header).at ("alg"), "EdDSA");
  EXPECT_EQ (token::decode_unverified ("a.b", &header, &claims), Status::malformed_token);
  EXPECT_EQ (token::decode_unverified ("", nullptr, nullptr), Status::malformed_token);
}

}  // namespace
