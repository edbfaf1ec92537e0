/* A device's evidence of membership, verified before anything in it is
 * used: its `hello` (its join token, session id and session key, signed
 * by the device key that the token names) and, once its token was renewed,
 * its latest `renew` (a newer token for the same member, role and grants,
 * signed by the same device in the same session). Stateless: verifying
 * changes nothing, so a welcome's hellos can all be checked before any of
 * them is adopted. Internal to the library; docs/key-protocol.md,
 * "Acceptance rules". GStreamer-free. */
#pragma once

#include <gst/sframe/keys/key-provider.h>
#include <gst/sframe/keys/room-wire.h>
#include <gst/sframe/keys/token.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sframe {
namespace room {

/* What every credential is checked against: this room, its authority and
 * the verifier's own clock. */
struct CredentialRules {
  std::string room;
  std::vector<uint8_t> authority;
  int64_t max_lifetime_s = token::kDefaultMaxLifetime;
  int64_t clock_skew_s = token::kDefaultClockSkew;
};

/* The outcome of a check: accepted, dropped as malformed (counted, not
 * reported: anyone can send garbage), or refused for a reason a host
 * should see. */
struct CredentialCheck {
  enum class Outcome { ok, malformed, refused } outcome = Outcome::malformed;
  Refusal refusal = Refusal::bad_token;
  std::string detail;   /* for people; never key bytes */
  /* The fingerprint of the token's device key, when the token itself is
   * authentic (the authority signed it): the device a refusal is about.
   * Empty when not: then only the message's own claim names one. */
  std::string device;

  bool ok () const { return outcome == Outcome::ok; }
};

struct VerifiedHello {
  std::string from;             /* fingerprint of claims.device_public_key */
  uint64_t sid = 0;
  uint64_t seq = 0;
  std::vector<uint8_t> hpke_key;   /* X25519, the session's */
  token::Claims claims;
  std::string hash;             /* SHA-256 of the signed payload, hex: rosters name it */
  std::string text;             /* the signed envelope, as welcomes carry it */
};

struct VerifiedRenewal {
  std::string from;
  uint64_t sid = 0;
  uint64_t seq = 0;
  std::string hello_hash;       /* the session's hello it renews */
  token::Claims claims;
  std::string text;
};

/* A signed `hello` envelope: the token is verified first (authority, room,
 * claims; and its time window at `now_s` unless `check_time` is false, for
 * a hello whose token a verified renewal covers), then the hello's
 * signature under the token's device key, whose fingerprint must be
 * `from`. Only then are the other fields read. */
CredentialCheck verify_hello (const wire::Envelope & envelope, const CredentialRules & rules, int64_t now_s,
    bool check_time, VerifiedHello * hello);

/* The same for the text of a hello envelope (as a welcome carries it). */
CredentialCheck verify_hello_text (const std::string & text, const CredentialRules & rules, int64_t now_s,
    bool check_time, VerifiedHello * hello);

/* A signed `renew` envelope of the session `hello`: signed by its device
 * key, in its session, naming its hash; the new token valid at `now_s`,
 * for the same device, member id, display name, role and grants. */
CredentialCheck verify_renewal (const wire::Envelope & envelope, const VerifiedHello & hello,
    const CredentialRules & rules, int64_t now_s, VerifiedRenewal * renewal);
CredentialCheck verify_renewal_text (const std::string & text, const VerifiedHello & hello,
    const CredentialRules & rules, int64_t now_s, VerifiedRenewal * renewal);

/* The signed envelope's canonical text ({"p":...,"s":...}). */
std::string envelope_text (const wire::Envelope & envelope);

}  // namespace room
}  // namespace sframe
