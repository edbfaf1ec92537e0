/* NATS decentralized authentication ("operator mode") for tests, made here
 * without nsc or Go: Ed25519 key pairs (OpenSSL) in the nkeys encoding,
 * the operator, account and user JWTs they sign (nats-io/jwt v2 claims),
 * the nats-server configuration that trusts the operator, and a client's
 * credentials file (.creds: a user JWT and its nkey seed). */
#pragma once

#include "nats-server.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sframe_test {

enum class NKeyType { operator_key, account, user };

/* A fresh random Ed25519 key pair of one nkey type. Throws
 * std::runtime_error when OpenSSL fails. */
class NKey {
public:
  explicit NKey (NKeyType type);

  /* "O...", "A..." or "U...": what JWTs name as subject and issuer. */
  std::string public_key () const;
  /* "SO...", "SA..." or "SU...": the secret. */
  std::string seed () const;
  /* The 64-byte Ed25519 signature of `data`. */
  std::vector<uint8_t> sign (const std::string & data) const;

private:
  NKeyType type_;
  std::vector<uint8_t> seed_;        /* the 32-byte Ed25519 private key */
  std::vector<uint8_t> public_raw_;  /* the 32-byte public key */
};

/* JWTs signed with the issuer's key: an operator's own (self-signed,
 * naming the server's system account), an account the operator signed
 * (no limits), a user the account signed (may publish and subscribe
 * anywhere, no limits). */
std::string operator_jwt (const NKey & op, const std::string & name, const NKey & system_account);
std::string account_jwt (const NKey & account, const NKey & op, const std::string & name);
std::string user_jwt (const NKey & user, const NKey & account, const std::string & name);

/* A credentials file's text, as nsc writes it. */
std::string creds_text (const std::string & user_jwt, const std::string & user_seed);

/* An operator and its account, known to the server (preloaded, MEMORY
 * resolver), with a user; and, for refusals, a user of an account the
 * server was never given, and the user's JWT with another key's seed. All
 * in files in a directory of its own (removed at the end). */
class TestOperator {
public:
  TestOperator () : scratch_ ("gst-sframe-jwt"), dir_ (scratch_.path ()) {}

  /* Makes them all; false and why in *error on failure. */
  bool make (std::string * error);

  /* For nats-server -c: operator, resolver and resolver_preload. */
  std::string server_config () const { return dir_ + "/server.conf"; }
  std::string user_creds () const { return dir_ + "/user.creds"; }
  std::string stranger_creds () const { return dir_ + "/stranger.creds"; }
  std::string mismatched_creds () const { return dir_ + "/mismatched.creds"; }
  /* Every seed made, so tests can check that no message shows one. */
  const std::vector<std::string> & seeds () const { return seeds_; }

private:
  bool write (const std::string & path, const std::string & text, std::string * error) const;
  ScratchDir scratch_;
  const std::string dir_;
  std::vector<std::string> seeds_;
};

}  // namespace sframe_test
