#include <gst/sframe/keys/token.h>

#include <gst/sframe/core/base64url.h>
#include <gst/sframe/core/crypto/crypto.h>

#include <nlohmann/json.hpp>

#include <set>

namespace sframe {
namespace token {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr const char *kGrantNames[] = {"publish-audio", "publish-video", "publish-screen", "subscribe"};

ByteView
bytes_of (std::string_view s)
{
  return {reinterpret_cast<const uint8_t *> (s.data ()), s.size ()};
}

/* Text claims end up in logs and user interfaces: keep them short and
 * free of control characters (UTF-8 validity is JSON's job). */
bool
valid_text (const std::string & s)
{
  if (s.empty () || s.size () > kMaxTextClaim)
    return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f)
      return false;
  }
  return true;
}

bool
valid_device_key (const std::vector<uint8_t> & key)
{
  return key.size () == kEd25519PublicKeySize && !fingerprint ({key.data (), key.size ()}).empty ();
}

/* Parses one JSON object, refusing duplicate member names at any depth
 * (RFC 7515 section 5.2 allows that; two parsers picking different
 * duplicates is a classic token confusion). */
bool
parse_object (ByteView text, json * out)
{
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  auto cb = [&] (int, json::parse_event_t event, json & parsed) {
    if (event == json::parse_event_t::object_start)
      keys.emplace_back ();
    else if (event == json::parse_event_t::object_end && !keys.empty ())
      keys.pop_back ();
    else if (event == json::parse_event_t::key && !keys.empty () && parsed.is_string () &&
        !keys.back ().insert (parsed.get<std::string> ()).second)
      duplicate = true;
    return true;
  };
  json j = json::parse (text.data, text.data + text.size, cb, false);
  if (j.is_discarded () || duplicate || !j.is_object ())
    return false;
  *out = std::move (j);
  return true;
}

/* The three parts of a compact JWS, decoded. */
struct Parts {
  std::string_view signing_input;   /* header "." claims, as transmitted */
  json header;
  json claims;
  std::vector<uint8_t> signature;
};

bool
split (std::string_view token, Parts * parts)
{
  if (token.empty () || token.size () > kMaxTokenSize)
    return false;
  size_t dot1 = token.find ('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find ('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find ('.', dot2 + 1) != std::string_view::npos)
    return false;
  std::vector<uint8_t> header, claims;
  if (!base64url_decode (token.substr (0, dot1), &header) ||
      !base64url_decode (token.substr (dot1 + 1, dot2 - dot1 - 1), &claims) ||
      !base64url_decode (token.substr (dot2 + 1), &parts->signature))
    return false;
  parts->signing_input = token.substr (0, dot2);
  return parse_object ({header.data (), header.size ()}, &parts->header) &&
      parse_object ({claims.data (), claims.size ()}, &parts->claims);
}

VerifyResult
fail (Status status, std::string message)
{
  return VerifyResult (status, std::move (message));
}

/* Header: alg first (so "none" is named as such), then what we refuse to
 * ignore. kid is checked against the authority later. */
VerifyResult
check_header (const json & header)
{
  auto alg = header.find ("alg");
  if (alg == header.end ())
    return fail (Status::malformed_token, "header has no alg");
  if (!alg->is_string () || alg->get<std::string> () != "EdDSA")
    return fail (Status::bad_algorithm, "alg " + alg->dump () + " is not \"EdDSA\"");
  auto typ = header.find ("typ");
  if (typ != header.end () && (!typ->is_string () || typ->get<std::string> () != "JWT"))
    return fail (Status::malformed_token, "typ is not \"JWT\"");
  /* Critical extensions change how the token must be processed; we know none. */
  if (header.contains ("crit"))
    return fail (Status::malformed_token, "header has crit extensions");
  auto kid = header.find ("kid");
  if (kid != header.end () && !kid->is_string ())
    return fail (Status::malformed_token, "kid is not a string");
  return fail (Status::ok, {});
}

VerifyResult
check_authority (const Parts & parts, ByteView authority_public_key)
{
  auto iss = parts.claims.find ("iss");
  if (iss == parts.claims.end ())
    return fail (Status::missing_claim, "iss");
  if (!iss->is_string ())
    return fail (Status::bad_claim, "iss");
  if (iss->get<std::string> () != fingerprint (authority_public_key))
    return fail (Status::wrong_authority, "iss names another authority");
  auto kid = parts.header.find ("kid");
  if (kid != parts.header.end () && kid->get<std::string> () != short_fingerprint (authority_public_key))
    return fail (Status::wrong_authority, "kid names another authority");
  return fail (Status::ok, {});
}

bool
read_time (const json & v, int64_t * out)
{
  if (v.is_number_unsigned ()) {
    uint64_t u = v.get<uint64_t> ();
    if (u > static_cast<uint64_t> (kMaxTime))
      return false;
    *out = static_cast<int64_t> (u);
    return true;
  }
  if (v.is_number_integer ()) {
    int64_t i = v.get<int64_t> ();
    if (i < 0 || i > kMaxTime)
      return false;
    *out = i;
    return true;
  }
  return false;
}

bool
read_text (const json & v, std::string * out)
{
  if (!v.is_string ())
    return false;
  std::string s = v.get<std::string> ();
  if (!valid_text (s))
    return false;
  *out = std::move (s);
  return true;
}

bool
read_role (const json & v, Role * out)
{
  if (v == "host")
    *out = Role::host;
  else if (v == "member")
    *out = Role::member;
  else
    return false;
  return true;
}

bool
read_grants (const json & v, uint32_t * out)
{
  if (!v.is_array ())
    return false;
  uint32_t grants = 0;
  for (const auto & g : v) {
    uint32_t bit = 0;
    for (size_t i = 0; i < 4 && g.is_string (); i++) {
      if (g.get<std::string> () == kGrantNames[i])
        bit = 1u << i;
    }
    if (!bit || (grants & bit))
      return false;
    grants |= bit;
  }
  *out = grants;
  return true;
}

bool
read_device_key (const json & v, std::vector<uint8_t> * out)
{
  std::vector<uint8_t> key;
  if (!v.is_string () || !base64url_decode (v.get<std::string> (), &key) || !valid_device_key (key))
    return false;
  *out = std::move (key);
  return true;
}

bool
read_jti (const json & v, std::string * out)
{
  std::vector<uint8_t> raw;
  if (!v.is_string () || !base64url_decode (v.get<std::string> (), &raw) || raw.size () != kJtiSize)
    return false;
  *out = v.get<std::string> ();
  return true;
}

/* Every claim present and well-formed, into *claims. */
VerifyResult
read_claims (const json & c, Claims * claims)
{
  static const char *required[] = {"room", "sub", "name", "role", "dpk", "grants", "iat", "exp", "jti"};
  for (const char *name : required) {
    if (!c.contains (name))
      return fail (Status::missing_claim, name);
  }
  claims->issuer = c.at ("iss").get<std::string> ();
  if (!read_text (c.at ("room"), &claims->room))
    return fail (Status::bad_claim, "room");
  if (!read_text (c.at ("sub"), &claims->member_id))
    return fail (Status::bad_claim, "sub");
  if (!read_text (c.at ("name"), &claims->display_name))
    return fail (Status::bad_claim, "name");
  if (!read_role (c.at ("role"), &claims->role))
    return fail (Status::bad_claim, "role");
  if (!read_device_key (c.at ("dpk"), &claims->device_public_key))
    return fail (Status::bad_claim, "dpk");
  if (!read_grants (c.at ("grants"), &claims->grants))
    return fail (Status::bad_claim, "grants");
  if (!read_time (c.at ("iat"), &claims->issued_at))
    return fail (Status::bad_claim, "iat");
  if (!read_time (c.at ("exp"), &claims->expires_at) || claims->expires_at <= claims->issued_at)
    return fail (Status::bad_claim, "exp");
  if (!read_jti (c.at ("jti"), &claims->jti))
    return fail (Status::bad_claim, "jti");
  return fail (Status::ok, {});
}

/* Room, lifetime, time window; all on authenticated claims. */
VerifyResult
check_context (const Claims & claims, const VerifyOptions & options)
{
  if (claims.room != options.room)
    return fail (Status::wrong_room, "token is for another room");
  if (claims.expires_at - claims.issued_at > options.max_lifetime)
    return fail (Status::lifetime_too_long, "exp - iat is " + std::to_string (claims.expires_at - claims.issued_at) +
        " s, more than " + std::to_string (options.max_lifetime) + " s");
  if (!options.check_time)
    return fail (Status::ok, {});
  /* Written without adding to `now`, which the caller controls. */
  if (claims.issued_at - options.clock_skew > options.now)
    return fail (Status::not_yet_valid, "iat is in the future");
  if (options.now >= claims.expires_at + options.clock_skew)
    return fail (Status::expired, "expired");
  return fail (Status::ok, {});
}

bool
valid_options (ByteView authority_public_key, const VerifyOptions & options)
{
  return authority_public_key.size == kEd25519PublicKeySize && options.max_lifetime >= 1 &&
      options.max_lifetime <= kMaxIssueLifetime && options.clock_skew >= 0 &&
      options.clock_skew <= kMaxClockSkew;
}

std::string
request_error (const Identity & authority, const IssueRequest & request, int64_t now)
{
  if (!authority.valid ())
    return "no authority key";
  if (request.lifetime < 1 || request.lifetime > kMaxIssueLifetime)
    return "lifetime must be 1 to " + std::to_string (kMaxIssueLifetime) + " seconds";
  if (now < 0 || now > kMaxTime - request.lifetime)
    return "the current time is out of range";
  if (!valid_text (request.room))
    return "room must be 1 to 256 bytes without control characters";
  if (!valid_text (request.member_id))
    return "member id must be 1 to 256 bytes without control characters";
  if (!valid_text (request.display_name))
    return "display name must be 1 to 256 bytes without control characters";
  if (!valid_device_key (request.device_public_key))
    return "the device public key is not a 32-byte Ed25519 key";
  if (request.grants & ~kAllGrants)
    return "unknown grant";
  return {};
}

std::string
b64 (const std::string & s)
{
  return base64url_encode (bytes_of (s));
}

}  // namespace

const char *
role_name (Role role)
{
  return role == Role::host ? "host" : "member";
}

const char *
grant_name (uint32_t grant)
{
  for (size_t i = 0; i < 4; i++) {
    if (grant == 1u << i)
      return kGrantNames[i];
  }
  return nullptr;
}

bool
parse_grants (std::string_view list, uint32_t * grants)
{
  uint32_t out = 0;
  while (!list.empty ()) {
    size_t comma = list.find (',');
    std::string_view item = list.substr (0, comma);
    uint32_t bit = 0;
    for (size_t i = 0; i < 4; i++) {
      if (item == kGrantNames[i])
        bit = 1u << i;
    }
    if (!bit || (out & bit))
      return false;
    out |= bit;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix (comma + 1);
    if (list.empty ())
      return false;   /* trailing comma */
  }
  *grants = out;
  return true;
}

std::string
grants_to_string (uint32_t grants)
{
  std::string out;
  for (size_t i = 0; i < 4; i++) {
    if (grants & (1u << i))
      out += (out.empty () ? "" : ",") + std::string (kGrantNames[i]);
  }
  return out;
}

Result
issue (const Identity & authority, const IssueRequest & request, int64_t now, std::string * token,
    Claims * claims)
{
  std::string why = token ? request_error (authority, request, now) : "no output";
  if (!why.empty ())
    return {Status::invalid_argument, why};
  uint8_t jti_raw[kJtiSize];
  if (!crypto::random_bytes (jti_raw, sizeof jti_raw))
    return {Status::crypto_error, "the random number generator failed"};

  Claims c;
  c.issuer = authority.fingerprint ();
  c.room = request.room;
  c.member_id = request.member_id;
  c.display_name = request.display_name;
  c.role = request.role;
  c.device_public_key = request.device_public_key;
  c.grants = request.grants;
  c.issued_at = now;
  c.expires_at = now + request.lifetime;
  c.jti = base64url_encode ({jti_raw, sizeof jti_raw});

  ordered_json header = {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", authority.short_fingerprint ()}};
  ordered_json grants = ordered_json::array ();
  for (size_t i = 0; i < 4; i++) {
    if (c.grants & (1u << i))
      grants.push_back (kGrantNames[i]);
  }
  ordered_json body = {{"iss", c.issuer}, {"room", c.room}, {"sub", c.member_id}, {"name", c.display_name},
    {"role", role_name (c.role)},
    {"dpk", base64url_encode ({c.device_public_key.data (), c.device_public_key.size ()})},
    {"grants", grants}, {"iat", c.issued_at}, {"exp", c.expires_at}, {"jti", c.jti}};

  std::string input;
  try {
    input = b64 (header.dump ()) + "." + b64 (body.dump ());
  } catch (const nlohmann::json::exception &) {
    /* dump() throws on invalid UTF-8 in a string. */
    return {Status::invalid_argument, "room, member id and display name must be valid UTF-8"};
  }
  std::vector<uint8_t> sig;
  Status s = authority.sign (bytes_of (input), &sig);
  if (s != Status::ok)
    return {s, "signing failed"};
  *token = input + "." + base64url_encode ({sig.data (), sig.size ()});
  if (claims)
    *claims = std::move (c);
  return Status::ok;
}

VerifyResult
verify (std::string_view token, ByteView authority_public_key, const VerifyOptions & options, JtiCache & cache)
{
  if (!valid_options (authority_public_key, options))
    return fail (Status::invalid_argument, "authority key must be 32 bytes; max lifetime 1..86400 s; skew 0..3600 s");
  Parts parts;
  if (!split (token, &parts))
    return fail (Status::malformed_token, "not a compact JWS of JSON objects");
  VerifyResult r = check_header (parts.header);
  if (r.ok ())
    r = check_authority (parts, authority_public_key);
  if (!r.ok ())
    return r;
  if (parts.signature.size () != kEd25519SignatureSize)
    return fail (Status::malformed_token, "signature is not 64 bytes");
  if (!verify_signature (authority_public_key, bytes_of (parts.signing_input),
          {parts.signature.data (), parts.signature.size ()}))
    return fail (Status::bad_signature, "signature does not verify with the authority key");

  Claims claims;
  r = read_claims (parts.claims, &claims);
  if (r.ok ())
    r = check_context (claims, options);
  if (!r.ok ())
    return r;
  switch (cache.remember (claims.jti, claims.expires_at + options.clock_skew, options.now)) {
    case JtiCache::Outcome::seen: return fail (Status::token_replayed, "jti already used");
    case JtiCache::Outcome::full: return fail (Status::replay_cache_full, "too many unexpired tokens");
    case JtiCache::Outcome::remembered: break;
  }
  r.claims = std::move (claims);
  return r;
}

Status
decode_unverified (std::string_view token, std::string * header_json, std::string * claims_json)
{
  Parts parts;
  if (!split (token, &parts))
    return Status::malformed_token;
  /* Replace, never throw: the input is untrusted. Control characters come
   * out escaped, so printing cannot drive a terminal. */
  auto replace = nlohmann::json::error_handler_t::replace;
  if (header_json)
    *header_json = parts.header.dump (2, ' ', false, replace);
  if (claims_json)
    *claims_json = parts.claims.dump (2, ' ', false, replace);
  return Status::ok;
}

JtiCache::Outcome
JtiCache::remember (const std::string & jti, int64_t forget_at, int64_t now)
{
  std::lock_guard<std::mutex> hold (lock_);
  purge (now);
  if (entries_.count (jti))
    return Outcome::seen;
  if (entries_.size () >= capacity_)
    return Outcome::full;
  entries_.emplace (jti, forget_at);
  by_time_.emplace (forget_at, jti);
  return Outcome::remembered;
}

bool
JtiCache::contains (const std::string & jti) const
{
  std::lock_guard<std::mutex> hold (lock_);
  return entries_.count (jti) != 0;
}

size_t
JtiCache::size () const
{
  std::lock_guard<std::mutex> hold (lock_);
  return entries_.size ();
}

void
JtiCache::purge (int64_t now)
{
  while (!by_time_.empty () && by_time_.begin ()->first <= now) {
    entries_.erase (by_time_.begin ()->second);
    by_time_.erase (by_time_.begin ());
  }
}

}  // namespace token
}  // namespace sframe
