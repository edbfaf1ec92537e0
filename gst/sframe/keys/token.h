/* Join tokens: JWTs (RFC 7519) signed with EdDSA/Ed25519 (RFC 8037) by the
 * room authority, in compact form
 *   base64url(header) "." base64url(claims) "." base64url(signature)
 * with header {"alg":"EdDSA","typ":"JWT","kid":<authority short fingerprint>}
 * and claims
 *   iss    authority fingerprint (64 hex)      room   room name
 *   sub    member id                            name   display name
 *   role   "host" | "member"                    dpk    device Ed25519 public key, base64url
 *   grants ["publish-audio","publish-video","publish-screen","subscribe"] (any subset)
 *   iat, exp  seconds since the epoch           jti    random 128 bits, base64url
 * A token admits one device (the holder of dpk's private key, which signs
 * its hellos) into one room, once, for a short time. The verifier always
 * uses the authority key its caller supplies; header fields such as kid,
 * jwk or jku never choose the key. docs/key-protocol.md has the rationale. */
#pragma once

#include <gst/sframe/keys/identity.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sframe {
namespace token {

constexpr int64_t kDefaultLifetime = 300;           /* seconds */
constexpr int64_t kMaxIssueLifetime = 24 * 3600;    /* issue refuses longer */
constexpr int64_t kDefaultMaxLifetime = 3600;       /* verify refuses longer */
constexpr int64_t kDefaultClockSkew = 30;
constexpr int64_t kMaxClockSkew = 3600;
constexpr int64_t kMaxTime = 253402300799;          /* 9999-12-31T23:59:59Z */
constexpr size_t kMaxTokenSize = 8192;              /* characters */
constexpr size_t kMaxTextClaim = 256;               /* bytes of room, sub, name */
constexpr size_t kJtiSize = 16;                     /* bytes */

enum class Role { host, member };
GST_SFRAME_API const char *role_name (Role role);

/* Grants, as a bit set. */
enum Grant : uint32_t {
  kGrantPublishAudio = 1u << 0,
  kGrantPublishVideo = 1u << 1,
  kGrantPublishScreen = 1u << 2,
  kGrantSubscribe = 1u << 3,
};
constexpr uint32_t kAllGrants = kGrantPublishAudio | kGrantPublishVideo | kGrantPublishScreen | kGrantSubscribe;
constexpr uint32_t kDefaultGrants = kGrantPublishAudio | kGrantPublishVideo | kGrantSubscribe;

/* "publish-audio", ... for one grant bit; nullptr for anything else. */
GST_SFRAME_API const char *grant_name (uint32_t grant);
/* A comma-separated list of names (no spaces, no repeats) to a bit set;
 * the empty string is the empty set. */
GST_SFRAME_API bool parse_grants (std::string_view list, uint32_t * grants);
GST_SFRAME_API std::string grants_to_string (uint32_t grants);

/* The claims of a verified token. */
struct Claims {
  std::string issuer;                       /* iss */
  std::string room;
  std::string member_id;                    /* sub */
  std::string display_name;                 /* name */
  Role role = Role::member;
  std::vector<uint8_t> device_public_key;   /* dpk, 32 bytes */
  uint32_t grants = 0;
  int64_t issued_at = 0;                    /* iat */
  int64_t expires_at = 0;                   /* exp */
  std::string jti;
};

struct IssueRequest {
  std::string room;
  std::string member_id;
  std::string display_name;
  Role role = Role::member;
  std::vector<uint8_t> device_public_key;
  uint32_t grants = kDefaultGrants;
  int64_t lifetime = kDefaultLifetime;      /* 1 .. kMaxIssueLifetime */
};

/* Signs a token with the authority's key, iat = now. room, member_id and
 * display_name must be 1..kMaxTextClaim bytes of UTF-8 without control
 * characters. Returns invalid_argument, with the reason, for a bad
 * request, such as a lifetime over 24 h. */
GST_SFRAME_API Result issue (const Identity & authority, const IssueRequest & request, int64_t now,
    std::string * token, Claims * claims = nullptr);


struct VerifyOptions {
  std::string room;                          /* the room being joined */
  int64_t now = 0;                           /* seconds since the epoch */
  int64_t max_lifetime = kDefaultMaxLifetime;  /* 1 .. kMaxIssueLifetime */
  int64_t clock_skew = kDefaultClockSkew;    /* 0 .. kMaxClockSkew */
  /* false: everything but the time window (not_yet_valid, expired) is
   * checked; for a token whose lifetime another, renewed one covers. */
  bool check_time = true;
};

/* Why a token was refused (a Status from malformed_token to bad_claim;
 * invalid_argument for the caller's options or authority key) with which
 * claim or field, for people and without key bytes; the claims only when
 * ok. */
struct VerifyResult : Result {
  using Result::Result;
  Claims claims;
};

/* Remembers the jti of accepted tokens until they expire, so each token is
 * accepted once. Bounded: when full of unexpired entries it refuses new
 * ones rather than forget one (which would reopen a replay). Thread-safe. */
class GST_SFRAME_API JtiCache {
public:
  static constexpr size_t kDefaultCapacity = 65536;

  explicit JtiCache (size_t capacity = kDefaultCapacity) : capacity_ (capacity) {}
  JtiCache (const JtiCache &) = delete;
  JtiCache & operator= (const JtiCache &) = delete;

  enum class Outcome { remembered, seen, full };
  /* Forgets entries with forget_at <= now, then records `jti` until
   * `forget_at` unless it is already present (seen) or there is no room. */
  Outcome remember (const std::string & jti, int64_t forget_at, int64_t now);
  bool contains (const std::string & jti) const;
  size_t size () const;

private:
  void purge (int64_t now);

  mutable std::mutex lock_;
  size_t capacity_;
  std::unordered_map<std::string, int64_t> entries_;
  std::multimap<int64_t, std::string> by_time_;
};

/* Verifies `token` against the authority's public key for options.room at
 * options.now, and on success records its jti in `cache`. Checks, in
 * order: structure and header (malformed, bad_algorithm), iss/kid
 * (wrong_authority), the signature (bad_signature), presence and form of
 * every claim (missing_claim, bad_claim), room, lifetime, not-yet-valid,
 * expiry, replay. */
GST_SFRAME_API VerifyResult verify (std::string_view token, ByteView authority_public_key,
    const VerifyOptions & options, JtiCache & cache);

/* Decodes header and claims WITHOUT checking anything (signature, issuer,
 * room, time): for display only. Pretty-printed JSON; malformed or ok. */
GST_SFRAME_API Status decode_unverified (std::string_view token, std::string * header_json,
    std::string * claims_json);

}  // namespace token
}  // namespace sframe
