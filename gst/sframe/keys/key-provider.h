/* The seam between the media keys and the group key protocol
 * (docs/key-protocol.md). The keymanager element owns a KeyProvider, feeds
 * it bus messages, commands and the time, and carries out what it asks for
 * through KeyProviderOutputs: messages to publish, keys to install in the
 * room's key store, events for the application. sframeenc and sframedec
 * only ever see the key store, so MLS (RFC 9420) can replace the sender-key
 * protocol by implementing this interface.
 *
 * A KeyProvider is single-threaded and never reads a clock: every call
 * carries the time, so tests can run whole rooms on a simulated clock.
 * GStreamer-free. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/cipher-suite.h>
#include <gst/sframe/keys/identity.h>
#include <gst/sframe/core/status.h>
#include <gst/sframe/keys/token.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sframe {
namespace room {

/* Both clocks: monotonic milliseconds for timers, Unix seconds for tokens. */
struct Now {
  int64_t ms = 0;
  int64_t unix_s = 0;
};

struct Timing {
  int64_t discovery_ms = 500;       /* a joiner's wait for an existing room */
  int64_t switch_timeout_ms = 1000; /* send with a fresh key after this even without every ack */
  int64_t grace_ms = 2000;          /* keep a replaced receiver key this long */
  int64_t heartbeat_ms = 1000;      /* liveness pings to the committer, and its beats */
  int64_t liveness_ms = 5000;       /* silent this long = gone */
  int64_t resend_ms = 1000;         /* retry an unanswered hello, sync or key */
  int64_t ack_delay_ms = 50;        /* hold a rotation's acks this long for the rest of its keys */
};

struct Config {
  std::string room;
  Identity identity;                   /* this device */
  std::string token;                   /* this device's join token */
  std::vector<uint8_t> authority;      /* the room authority's Ed25519 public key */
  bool require_admission = false;      /* joiners wait in the lobby for a host */
  CipherSuite suite = CipherSuite::aes_128_gcm_sha256_128;
  Timing timing;
  int64_t clock_skew_s = token::kDefaultClockSkew;
  int64_t max_token_lifetime_s = token::kDefaultMaxLifetime;
};

struct MemberInfo {
  std::string fingerprint;     /* device key, 64 hex */
  std::string member_id;       /* token sub */
  std::string display_name;
  token::Role role = token::Role::member;
  uint32_t grants = 0;
  uint32_t index = 0;          /* in key ids: index << 8 | generation */
};

struct RosterView {
  uint64_t epoch = 0;          /* 0: not in a room yet */
  std::string committer;       /* fingerprint */
  std::vector<MemberInfo> members;
  std::vector<MemberInfo> lobby;   /* verified joiners waiting for admission */
  std::string security_code;   /* 12 groups of 5 digits; empty before epoch 1 */
};

/* Why a joiner or a message was refused. */
enum class Refusal {
  token_expired,
  token_not_yet_valid,
  wrong_room,
  wrong_authority,
  bad_token,             /* malformed, bad signature, bad claim, too long-lived */
  token_replayed,
  bad_hello_signature,   /* not signed by the token's device key */
  not_admitted,
  revoked,
  session_ended,         /* a hello of a session that already left the roster */
  renewal_mismatch,      /* a renewed token that is not for the same member, role and grants */
  hello_conflict,        /* another hello for a session we know: a session has exactly one */
};
GST_SFRAME_API const char *refusal_name (Refusal refusal);

struct Stats {
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_rejected = 0;   /* bad signature, stale, unjustified, undecryptable */
  uint64_t refused_members = 0;
  uint64_t rotations = 0;           /* own sender key changes */
  uint64_t resyncs = 0;
  uint64_t key_resends = 0;         /* keys sent again: unacknowledged, or asked for by a sync */
  uint64_t missing_announced = 0;   /* committer: a sender told who lacks its key of a rotation */
};

/* What a KeyProvider asks of its owner. Called from inside the provider's
 * methods, on the caller's thread; must not call back into the provider. */
class GST_SFRAME_API KeyProviderOutputs {
public:
  virtual ~KeyProviderOutputs ();

  virtual void publish (const std::string & subject, const std::vector<uint8_t> & payload) = 0;
  /* Key store: someone else's sender key, to decrypt their frames, and
   * the roster member it belongs to (from their verified token), so what
   * decrypts with it can name the sender. */
  virtual void install_key (uint64_t key_id, const SecureBytes & base_key, const MemberInfo & owner) = 0;
  /* Key store: our own sender key, drawn fresh from the CSPRNG (or
   * ratcheted from such a key): the only kind our encoders may use. */
  virtual void install_own_key (uint64_t key_id, const SecureBytes & base_key) = 0;
  virtual void remove_key (uint64_t key_id) = 0;
  /* Our encoders switch to this (installed) key. */
  virtual void set_sender_key (uint64_t key_id) = 0;
  /* Our encoders stop: we are not (or no longer) allowed to send. */
  virtual void clear_sender_key () = 0;

  /* By value: at N members it is N entries, moved rather than copied. */
  virtual void roster_changed (RosterView roster) = 0;
  virtual void member_refused (const std::string & who, Refusal reason, const std::string & detail) = 0;
  virtual void key_rotated (uint64_t key_id, const std::string & reason) = 0;
  /* We are out: revoked, or the room ended for us. */
  virtual void left (const std::string & reason) = 0;
};

class GST_SFRAME_API KeyProvider {
public:
  virtual ~KeyProvider ();

  /* The subjects to subscribe to before start (). */
  virtual std::vector<std::string> subjects () const = 0;
  /* Announces this device (hello). */
  virtual Status start (const Now & now) = 0;
  virtual void receive (const std::string & subject, ByteView payload, const Now & now) = 0;
  /* Runs due timers; returns the next deadline in ms (monotonic). */
  virtual int64_t tick (const Now & now) = 0;
  /* The bus came back after an outage: resynchronise. */
  virtual void reconnected (const Now & now) = 0;
  virtual void leave (const Now & now) = 0;

  /* Host actions; `who` is a fingerprint (or a unique prefix of one of at
   * least 16 characters) or a member id. invalid_argument when not a host
   * or when `who` names nobody. */
  virtual Status admit (const std::string & who, const Now & now) = 0;
  virtual Status revoke (const std::string & who, const Now & now) = 0;
  /* A fresh sender key for this member now (any member may). */
  virtual Status rotate (const Now & now) = 0;
  /* A newer join token for this device, member, name, role and grants:
   * membership lasts only as long as a valid token (a member whose token
   * expired is removed, and joiners refuse a roster naming it), so a
   * long meeting renews before expiry. invalid_argument when the token
   * does not verify or names anything else. */
  virtual Status renew_token (const std::string & token, const Now & now) = 0;

  virtual RosterView roster () const = 0;
  virtual Stats stats () const = 0;
};

/* The sender-key protocol of docs/key-protocol.md, in *provider. Fails,
 * with the token's Status and a reason, when our own token does not
 * verify or was issued for another device key. */
GST_SFRAME_API Result make_sender_key_provider (const Config & config, KeyProviderOutputs * outputs,
    const Now & now, std::unique_ptr<KeyProvider> * provider);

/* SHA-512("gst-sframe/1 roster" || sorted fingerprints) as 12 groups of 5
 * digits. */
GST_SFRAME_API std::string security_code (std::vector<std::string> fingerprints);
/* The same for fingerprints already in sorted order, without copying them. */
GST_SFRAME_API std::string security_code_of_sorted (const std::vector<std::string_view> & fingerprints);

}  // namespace room
}  // namespace sframe
