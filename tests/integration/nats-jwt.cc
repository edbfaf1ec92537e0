#include "nats-jwt.h"

#include <gst/sframe/core/base64url.h>

#include <openssl/evp.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace sframe_test {

namespace fs = std::filesystem;

namespace {

/* nkeys prefix bytes (nats-io/nkeys strkey.go): the first base32
 * character of an encoded key says its type. */
constexpr uint8_t kPrefixSeed = 18 << 3;      /* 'S' */
constexpr uint8_t kPrefixOperator = 14 << 3;  /* 'O' */
constexpr uint8_t kPrefixAccount = 0;         /* 'A' */
constexpr uint8_t kPrefixUser = 20 << 3;      /* 'U' */
constexpr size_t kEd25519KeySize = 32;

struct PkeyDeleter {
  void operator() (EVP_PKEY * p) const { EVP_PKEY_free (p); }
};
struct MdCtxDeleter {
  void operator() (EVP_MD_CTX * c) const { EVP_MD_CTX_free (c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

uint8_t
prefix_of (NKeyType type)
{
  switch (type) {
    case NKeyType::operator_key:
      return kPrefixOperator;
    case NKeyType::account:
      return kPrefixAccount;
    case NKeyType::user:
      break;
  }
  return kPrefixUser;
}

/* RFC 4648 base32, no padding: how nkeys and JWT ids are written. */
std::string
base32 (const std::vector<uint8_t> & bytes)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0)
    out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/* CRC-16/XMODEM (polynomial 0x1021, initial 0), the nkeys checksum. */
uint16_t
crc16 (const std::vector<uint8_t> & bytes)
{
  uint16_t crc = 0;
  for (uint8_t b : bytes) {
    crc ^= static_cast<uint16_t> (b << 8);
    for (int i = 0; i < 8; i++)
      crc = (crc & 0x8000) ? static_cast<uint16_t> ((crc << 1) ^ 0x1021) : static_cast<uint16_t> (crc << 1);
  }
  return crc;
}

/* prefix bytes || key || crc16 (little-endian), in base32. */
std::string
encode_key (std::vector<uint8_t> prefix, const std::vector<uint8_t> & key)
{
  std::vector<uint8_t> raw = std::move (prefix);
  raw.insert (raw.end (), key.begin (), key.end ());
  uint16_t crc = crc16 (raw);
  raw.push_back (static_cast<uint8_t> (crc & 0xff));
  raw.push_back (static_cast<uint8_t> (crc >> 8));
  return base32 (raw);
}

std::string
b64 (const std::string & text)
{
  return sframe::base64url_encode ({reinterpret_cast<const uint8_t *> (text.data ()), text.size ()});
}

/* Every string put in the JSON below is base32 or a name from the tests:
 * nothing to escape. */
std::string
quoted (const std::string & s)
{
  return "\"" + s + "\"";
}

/* A signed JWT: `nats` is the type-specific claims object. The id (jti)
 * is, as nats-io/jwt v2 computes it, the base32 SHA-512/256 of the
 * standard claims without it, in the order Go's encoder writes them. */
std::string
sign_jwt (const NKey & subject_key, const NKey & issuer, const std::string & name, const std::string & nats)
{
  std::string standard = "\"iat\":" + std::to_string (std::time (nullptr)) + ",\"iss\":" +
      quoted (issuer.public_key ()) + ",\"name\":" + quoted (name) + ",\"sub\":" + quoted (subject_key.public_key ());
  std::string unidentified = "{" + standard + "}";
  std::vector<uint8_t> digest (EVP_MAX_MD_SIZE);
  unsigned int digest_size = 0;
  if (EVP_Digest (unidentified.data (), unidentified.size (), digest.data (), &digest_size, EVP_sha512_256 (),
          nullptr) != 1)
    throw std::runtime_error ("SHA-512/256 failed");
  digest.resize (digest_size);
  std::string claims = "{\"jti\":" + quoted (base32 (digest)) + "," + standard + ",\"nats\":" + nats + "}";
  std::string signed_part = b64 (R"({"typ":"JWT","alg":"ed25519-nkey"})") + "." + b64 (claims);
  std::vector<uint8_t> signature = issuer.sign (signed_part);
  return signed_part + "." + sframe::base64url_encode (sframe::ByteView (signature));
}

}  // namespace

NKey::NKey (NKeyType type) : type_ (type), seed_ (kEd25519KeySize), public_raw_ (kEd25519KeySize)
{
  Pkey pkey (EVP_PKEY_Q_keygen (nullptr, nullptr, "ED25519"));
  size_t seed_size = seed_.size (), public_size = public_raw_.size ();
  if (!pkey || EVP_PKEY_get_raw_private_key (pkey.get (), seed_.data (), &seed_size) != 1 ||
      EVP_PKEY_get_raw_public_key (pkey.get (), public_raw_.data (), &public_size) != 1 ||
      seed_size != kEd25519KeySize || public_size != kEd25519KeySize)
    throw std::runtime_error ("cannot make an Ed25519 key");
}

std::string
NKey::public_key () const
{
  return encode_key ({prefix_of (type_)}, public_raw_);
}

std::string
NKey::seed () const
{
  /* Two prefix bytes so that both the 'S' and the type letter show in
   * base32 (5 bits a character): "SO", "SA", "SU". */
  uint8_t type = prefix_of (type_);
  return encode_key ({static_cast<uint8_t> (kPrefixSeed | (type >> 5)), static_cast<uint8_t> ((type & 31) << 3)},
      seed_);
}

std::vector<uint8_t>
NKey::sign (const std::string & data) const
{
  Pkey pkey (EVP_PKEY_new_raw_private_key (EVP_PKEY_ED25519, nullptr, seed_.data (), seed_.size ()));
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx (EVP_MD_CTX_new ());
  std::vector<uint8_t> signature (64);
  size_t size = signature.size ();
  if (!pkey || !ctx || EVP_DigestSignInit (ctx.get (), nullptr, nullptr, nullptr, pkey.get ()) != 1 ||
      EVP_DigestSign (ctx.get (), signature.data (), &size, reinterpret_cast<const uint8_t *> (data.data ()),
          data.size ()) != 1 || size != signature.size ())
    throw std::runtime_error ("cannot sign with an Ed25519 key");
  return signature;
}

std::string
operator_jwt (const NKey & op, const std::string & name, const NKey & system_account)
{
  return sign_jwt (op, op, name,
      "{\"system_account\":" + quoted (system_account.public_key ()) + R"(,"type":"operator","version":2})");
}

std::string
account_jwt (const NKey & account, const NKey & op, const std::string & name)
{
  /* -1: no limit. JetStream stays off (its limits absent, i.e. 0). */
  return sign_jwt (account, op, name,
      R"({"limits":{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,)"
      R"("leaf":-1},"default_permissions":{"pub":{},"sub":{}},"type":"account","version":2})");
}

std::string
user_jwt (const NKey & user, const NKey & account, const std::string & name)
{
  return sign_jwt (user, account, name,
      R"({"pub":{"allow":[">"]},"sub":{"allow":[">"]},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2})");
}

std::string
creds_text (const std::string & user_jwt, const std::string & user_seed)
{
  return "-----BEGIN NATS USER JWT-----\n" + user_jwt + "\n------END NATS USER JWT------\n\n"
      "************************* IMPORTANT *************************\n"
      "NKEY Seed printed below can be used to sign and prove identity.\n"
      "NKEYs are sensitive and should be treated as secrets.\n\n"
      "-----BEGIN USER NKEY SEED-----\n" + user_seed + "\n------END USER NKEY SEED------\n\n"
      "*************************************************************\n";
}


bool
TestOperator::write (const std::string & path, const std::string & text, std::string * error) const
{
  {
    std::ofstream out (path, std::ios::trunc);
    out << text;
    if (!out.flush ()) {
      *error = "cannot write " + path;
      return false;
    }
  }
  /* Seeds are secrets: owner only, as nsc does. */
  std::error_code ec;
  fs::permissions (path, fs::perms::owner_read | fs::perms::owner_write, ec);
  return true;
}

bool
TestOperator::make (std::string * error)
{
  if (dir_.empty ()) {
    *error = "cannot make a directory for the test JWTs";
    return false;
  }
  try {
    NKey op (NKeyType::operator_key), account (NKeyType::account), user (NKeyType::user);
    /* The server's own account, named by the operator (without one the
     * server warns that operators should have one; nsc always makes it). */
    NKey system (NKeyType::account);
    /* An account the server was never given (no JWT of it exists), its
     * user, and a key that is nobody's. */
    NKey stranger_account (NKeyType::account), stranger (NKeyType::user), other_user (NKeyType::user);
    seeds_ = {op.seed (), account.seed (), user.seed (), system.seed (), stranger_account.seed (), stranger.seed (),
        other_user.seed ()};
    std::string user_token = user_jwt (user, account, "member");
    std::string config = "operator: " + quoted (dir_ + "/operator.jwt") + "\n"
        "resolver: MEMORY\n"
        "resolver_preload: {\n"
        "  " + account.public_key () + ": " + quoted (account_jwt (account, op, "room")) + "\n"
        "  " + system.public_key () + ": " + quoted (account_jwt (system, op, "SYS")) + "\n"
        "}\n";
    return write (dir_ + "/operator.jwt", operator_jwt (op, "gst-sframe-test", system), error) &&
        write (server_config (), config, error) &&
        write (user_creds (), creds_text (user_token, user.seed ()), error) &&
        write (stranger_creds (), creds_text (user_jwt (stranger, stranger_account, "stranger"), stranger.seed ()),
            error) &&
        /* The JWT names `user`; the nonce is signed with another key. */
        write (mismatched_creds (), creds_text (user_token, other_user.seed ()), error);
  } catch (const std::exception & e) {
    *error = e.what ();
    return false;
  }
}

}  // namespace sframe_test
