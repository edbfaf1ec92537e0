/* Hellos and renewals, verified before they are read (room-credentials.h). */
#include <gst/sframe/keys/room-credentials.h>

#include <gst/sframe/core/base64url.h>
#include <gst/sframe/keys/hpke.h>

#include <nlohmann/json.hpp>

namespace sframe {
namespace room {

namespace {

using json = nlohmann::json;

ByteView
text_view (const std::string & text)
{
  return ByteView (reinterpret_cast<const uint8_t *> (text.data ()), text.size ());
}

CredentialCheck
malformed ()
{
  return CredentialCheck ();
}

CredentialCheck
refused (Refusal refusal, std::string detail)
{
  CredentialCheck check;
  check.outcome = CredentialCheck::Outcome::refused;
  check.refusal = refusal;
  check.detail = std::move (detail);
  return check;
}

CredentialCheck
accepted ()
{
  CredentialCheck check;
  check.outcome = CredentialCheck::Outcome::ok;
  return check;
}

Refusal
refusal_for (Status status)
{
  switch (status) {
    case Status::expired:
      return Refusal::token_expired;
    case Status::not_yet_valid:
      return Refusal::token_not_yet_valid;
    case Status::wrong_room:
      return Refusal::wrong_room;
    case Status::wrong_authority:
    case Status::bad_signature:
      return Refusal::wrong_authority;
    case Status::token_replayed:
      return Refusal::token_replayed;
    default:
      return Refusal::bad_token;
  }
}

/* The token of a payload, verified; its claims in *claims. The time
 * window is judged last, on an authentic token, so that a refusal for
 * time names the token's device. */
CredentialCheck
verify_token_of (const json & payload, const CredentialRules & rules, int64_t now_s, bool check_time,
    token::Claims * claims)
{
  auto text = payload.find ("token");
  if (text == payload.end () || !text->is_string ())
    return malformed ();
  /* Replay of a jti is judged by the member, per device and session. */
  token::JtiCache one_use;
  token::VerifyOptions options { rules.room, now_s, rules.max_lifetime_s, rules.clock_skew_s, false };
  token::VerifyResult result = token::verify (text->get<std::string> (), ByteView (rules.authority), options, one_use);
  if (result.ok () && check_time) {
    std::string device = wire::sha256_hex (ByteView (result.claims.device_public_key));
    options.check_time = true;
    token::JtiCache again;
    result = token::verify (text->get<std::string> (), ByteView (rules.authority), options, again);
    if (!result.ok ()) {
      CredentialCheck check = refused (refusal_for (result.status),
          status_name (result.status) + std::string (": ") + result.message);
      check.device = std::move (device);
      return check;
    }
  }
  if (!result.ok ())
    return refused (refusal_for (result.status), status_name (result.status) + std::string (": ") + result.message);
  *claims = std::move (result.claims);
  return accepted ();
}

/* The envelope's payload as a JSON object whose signature verifies under
 * `device_key` and whose `from` is that key's fingerprint. */
bool
signed_by (const wire::Envelope & envelope, const json & payload, const std::vector<uint8_t> & device_key)
{
  auto from = payload.find ("from");
  return from != payload.end () && from->is_string () &&
      from->get<std::string> () == wire::sha256_hex (ByteView (device_key)) &&
      verify_signature_for (ByteView (device_key), "message", text_view (envelope.payload),
          ByteView (envelope.signature));
}

/* The fields every signed payload has, read once its signature verified. */
bool
read_common (const json & payload, const char * type, const std::string & room, uint64_t * sid, uint64_t * seq)
{
  auto v = payload.find ("v");
  auto t = payload.find ("type");
  auto r = payload.find ("room");
  auto s = payload.find ("sid");
  auto n = payload.find ("seq");
  return v != payload.end () && v->is_number_unsigned () && v->get<uint64_t> () == wire::kVersion &&
      t != payload.end () && t->is_string () && t->get<std::string> () == type && r != payload.end () &&
      r->is_string () && r->get<std::string> () == room && s != payload.end () && s->is_string () &&
      wire::parse_u64_hex (s->get<std::string> (), sid) && n != payload.end () && n->is_number_unsigned () &&
      (*seq = n->get<uint64_t> (), true);
}

bool
parse_signed (const std::string & text, wire::Envelope * envelope)
{
  return wire::parse_envelope (text_view (text), envelope) && envelope->kind == wire::Envelope::Kind::signed_message;
}

}  // namespace

std::string
envelope_text (const wire::Envelope & envelope)
{
  json doc = { { "p", base64url_encode (text_view (envelope.payload)) },
    { "s", base64url_encode (ByteView (envelope.signature)) } };
  return doc.dump ();
}

CredentialCheck
verify_hello (const wire::Envelope & envelope, const CredentialRules & rules, int64_t now_s, bool check_time,
    VerifiedHello * hello)
{
  json payload = json::parse (envelope.payload, nullptr, false);
  if (!payload.is_object ())
    return malformed ();
  VerifiedHello out;
  CredentialCheck token = verify_token_of (payload, rules, now_s, check_time, &out.claims);
  if (!token.ok ())
    return token;
  if (!signed_by (envelope, payload, out.claims.device_public_key)) {
    CredentialCheck check = refused (Refusal::bad_hello_signature, "hello not signed by the token's device key");
    check.device = wire::sha256_hex (ByteView (out.claims.device_public_key));
    return check;
  }
  /* Signed: from here on the payload is the device's word. */
  auto hpk = payload.find ("hpk");
  if (!read_common (payload, "hello", rules.room, &out.sid, &out.seq) || out.sid == 0 || hpk == payload.end () ||
      !hpk->is_string () || !base64url_decode (hpk->get<std::string> (), &out.hpke_key) ||
      out.hpke_key.size () != hpke::kPublicKeySize)
    return malformed ();
  out.from = payload["from"].get<std::string> ();
  out.hash = wire::sha256_hex (text_view (envelope.payload));
  out.text = envelope_text (envelope);
  *hello = std::move (out);
  return accepted ();
}

CredentialCheck
verify_hello_text (const std::string & text, const CredentialRules & rules, int64_t now_s, bool check_time,
    VerifiedHello * hello)
{
  wire::Envelope envelope;
  if (!parse_signed (text, &envelope))
    return malformed ();
  return verify_hello (envelope, rules, now_s, check_time, hello);
}

CredentialCheck
verify_renewal (const wire::Envelope & envelope, const VerifiedHello & hello, const CredentialRules & rules,
    int64_t now_s, VerifiedRenewal * renewal)
{
  json payload = json::parse (envelope.payload, nullptr, false);
  if (!payload.is_object () || !signed_by (envelope, payload, hello.claims.device_public_key))
    return malformed ();
  VerifiedRenewal out;
  auto renews = payload.find ("hello");
  if (!read_common (payload, "renew", rules.room, &out.sid, &out.seq) || out.sid != hello.sid ||
      renews == payload.end () || !renews->is_string () || renews->get<std::string> () != hello.hash)
    return malformed ();
  CredentialCheck token = verify_token_of (payload, rules, now_s, true, &out.claims);
  if (!token.ok ())
    return token;
  const token::Claims & was = hello.claims;
  if (out.claims.device_public_key != was.device_public_key || out.claims.member_id != was.member_id ||
      out.claims.display_name != was.display_name || out.claims.role != was.role || out.claims.grants != was.grants)
    return refused (Refusal::renewal_mismatch, "a renewed token must name the same device, member, name, role and grants");
  out.from = hello.from;
  out.hello_hash = hello.hash;
  out.text = envelope_text (envelope);
  *renewal = std::move (out);
  return accepted ();
}

CredentialCheck
verify_renewal_text (const std::string & text, const VerifiedHello & hello, const CredentialRules & rules,
    int64_t now_s, VerifiedRenewal * renewal)
{
  wire::Envelope envelope;
  if (!parse_signed (text, &envelope))
    return malformed ();
  return verify_renewal (envelope, hello, rules, now_s, renewal);
}

}  // namespace room
}  // namespace sframe
