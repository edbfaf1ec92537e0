/* The sender-key protocol of docs/key-protocol.md: internal to the library
 * (make_sender_key_provider in key-provider.h is the public entry). The
 * provider dispatches messages to parts that own their state (RosterChain,
 * SessionLedger, UnattributedStash, PeerChannels, OwnSenderKeys,
 * ReceivedKeys, KeyDelivery, HeldReport, AckTally) and keeps the judgement
 * that needs them together. Its code is
 * split over sender-key-provider.cc (hellos, host actions),
 * sender-key-roster.cc (commits, welcomes, sync), sender-key-channels.cc
 * (channel setups and messages), sender-key-keys.cc (own and received
 * sender keys) and sender-key-acks.cc (a rotation's acks). */
#pragma once

#include <gst/sframe/keys/ack-tally.h>
#include <gst/sframe/keys/hpke.h>
#include <gst/sframe/core/key.h>
#include <gst/sframe/keys/key-delivery.h>
#include <gst/sframe/keys/own-sender-keys.h>
#include <gst/sframe/keys/key-provider.h>
#include <gst/sframe/keys/peer-channels.h>
#include <gst/sframe/keys/random-id.h>
#include <gst/sframe/keys/received-keys.h>
#include <gst/sframe/core/replay-window.h>
#include <gst/sframe/keys/room-credentials.h>
#include <gst/sframe/keys/room-messages.h>
#include <gst/sframe/keys/room-wire.h>
#include <gst/sframe/keys/roster-chain.h>
#include <gst/sframe/keys/session-ledger.h>
#include <gst/sframe/keys/unattributed-stash.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace sframe {
namespace room {

using json = nlohmann::json;

/* A device whose hello we verified. */
/* Two rooms that formed apart (a member alone, or joiners that gave up
 * waiting for an overloaded committer) settle which takes the other in:
 * the room a host commits, then the higher epoch, then the committer of
 * the smaller fingerprint. Both sides compare the same three values. */
struct RoomRank {
  bool hosted = false;
  uint64_t epoch = 0;
  std::string committer;

  bool outranks (const RoomRank & other) const
  {
    if (hosted != other.hosted)
      return hosted;
    if (epoch != other.epoch)
      return epoch > other.epoch;
    return committer < other.committer;
  }
};

struct Peer {
  MemberInfo info;
  token::Claims claims;                /* of its hello's token */
  int64_t token_expires_s = 0;         /* of its newest token (hello or renewal) */
  std::string renewal;                 /* its newest `renew`, signed, for welcomes; or empty */
  std::vector<uint8_t> device_key;     /* Ed25519, from the token's dpk */
  std::vector<uint8_t> hpke_key;       /* X25519 session key, from the hello */
  uint64_t sid = 0;
  std::string hello;                   /* the signed envelope, for welcomes */
  std::string hello_hash;
  std::string jti;
  ReplayWindow seen;                   /* seq of its signed messages, this sid */
  uint64_t newest_seq = 0;             /* ... the newest of them */
  int64_t last_heard_ms = 0;
  int64_t welcomed_ms = INT64_MIN;     /* the committer's last welcome to it */
  bool gone = false;                   /* this session left the roster */
  /* Removed from the roster without leaving (silent, or its token lapsed
   * before a renewal came): it may return as a joiner, but only on a
   * fresh signed message of its session, never on its (replayable) hello. */
  bool dormant = false;
  bool in_roster = false;              /* in roster_.members, index in info.index */
  uint64_t roster_sid = 0;             /* the session the roster holds (0: none) */
  uint64_t room_epoch = 0;             /* the epoch of the room it beats for, outside ours */
  int64_t room_beat_ms = INT64_MIN;    /* ... heard then */

  PeerChannels channels;
  std::string subject;                 /* its inbox, made once (a hash per message otherwise) */

  ReceivedKeys keys;                   /* its sender keys we hold */
};

/* The hellos and renewals a welcome carries, each verified on its own. */
struct CarriedCredentials {
  std::map<std::string, VerifiedHello> hellos;
  std::map<std::string, VerifiedRenewal> renewals;
};

/* A removal's fresh key (leave, revoke): acked through the committer. */
inline bool
is_removal_reason (const std::string & reason)
{
  return reason == "leave" || reason == "revoke";
}

class SenderKeyProvider final : public KeyProvider {
public:
  SenderKeyProvider (const Config & config, KeyProviderOutputs * outputs);
  Result init (const Now & now);

  std::vector<std::string> subjects () const override;
  Status start (const Now & now) override;
  void receive (const std::string & subject, ByteView payload, const Now & now) override;
  int64_t tick (const Now & now) override;
  void reconnected (const Now & now) override;
  void leave (const Now & now) override;
  Status admit (const std::string & who, const Now & now) override;
  Status revoke (const std::string & who, const Now & now) override;
  Status rotate (const Now & now) override;
  Status renew_token (const std::string & token, const Now & now) override;
  RosterView roster () const override;
  Stats stats () const override { return stats_; }

private:
  enum class Phase { idle, joining, member, left };

  /* sender-key-provider.cc: messages, hellos, host actions */
  json base_payload (const char * type);
  void send_signed (const std::string & subject, const json & payload);
  void send_hello (const Now & now);
  void say_hello (const Now & now);
  void stash_unattributed (const wire::Envelope & envelope, const Now & now);
  void replay_unattributed (const Now & now);
  void on_signed (const wire::Envelope & envelope, const Now & now);
  Peer *accept_signed (const wire::Envelope & envelope, UnverifiedMessage & message, const Now & now,
      VerifiedMessage * verified);
  void refuse (const std::string & who, Refusal reason, const std::string & detail);
  void refuse (const std::string & who, const CredentialCheck & check);
  void learn_carried_hello (const UnverifiedMessage & message, const Now & now);
  void on_hello (const wire::Envelope & envelope, const std::string & claimed, const Now & now);
  void on_repeated_hello (Peer & peer, const Now & now);
  bool token_unused (const token::Claims & claims, const std::string & from, uint64_t sid) const;
  Peer & adopt_hello (VerifiedHello hello, const Now & now);
  void on_renew (Peer & from, const wire::Envelope & envelope, const Now & now);
  void adopt_renewal (Peer & peer, const VerifiedRenewal & renewal, const Now & now);
  VerifiedHello session_of (const Peer & peer) const;
  bool token_current (int64_t expires_at_s, const Now & now) const;
  bool credential_current (const Peer & peer, const Now & now) const { return token_current (peer.token_expires_s, now); }
  void send_renewal ();
  bool joining_allowed (const Peer & peer) const;
  void on_host_action (Peer & from, const VerifiedMessage & message, const Now & now);
  void on_leave (Peer & from, const Now & now);
  bool any_host_in_roster () const { return hosts_in_roster_; }
  void roster_members_changed ();
  const std::string & inbox_of (Peer & peer);
  const MemberInfo *info_of (const std::string & fp) const;
  const MemberInfo *member_at (uint32_t index) const;
  bool eligible_committer (const std::string & fp) const;
  /* Cached: asked on every tick and message; forget_committer () after
   * any change to the roster, leaving_, silent_ or a member's info. */
  const std::string & expected_committer () const;
  void forget_committer () { committer_known_ = false; }
  bool am_committer () const;
  Peer *find_peer (const std::string & who);

  /* sender-key-roster.cc: the roster chain, welcomes, sync, timers */
  bool roster_justified (const std::string & committer, const ParsedRoster & next, const Now & now) const;
  void on_roster (Peer & from, const VerifiedMessage & message, const Now & now);
  void retry_pending_roster (const Now & now);
  void apply_roster (ParsedRoster next, const Now & now);
  void end_session (Peer & peer, const Now & now);
  void rest_session (Peer & peer, const Now & now);
  void rejoin (const Now & now);
  void forget_room ();
  void adopt_departed (const VerifiedMessage & welcome, const Now & now);
  bool session_ended (const std::string & fp, uint64_t sid) const { return sessions_.ended (fp, sid); }
  std::vector<std::string> member_hellos () const;
  std::vector<std::string> member_renewals () const;
  void send_welcome (const std::string & to, const Now & now);
  void on_welcome (UnverifiedMessage & message, const Now & now);
  CarriedCredentials verify_carried (const UnverifiedMessage & message, const Now & now) const;
  bool verify_welcome (UnverifiedMessage & message, const std::string & signer, bool resync,
      const CarriedCredentials & carried, VerifiedMessage * verified, ParsedRoster * next) const;
  bool welcome_justified (const std::string & signer, const ParsedRoster & next, const CarriedCredentials & carried,
      const Now & now) const;
  void adopt_welcome (const std::string & signer, const VerifiedMessage & verified, const CarriedCredentials & carried,
      ParsedRoster next, const Now & now);
  void request_sync (const Now & now);
  void on_sync (Peer & from, const Now & now);
  void on_beat (Peer & from, const Beat & beat, const Now & now);
  void publish_roster (std::map<std::string, uint32_t> members, uint32_t next_index, const char * change,
      const std::set<std::string> & who, std::set<std::string> revoked, const Now & now);
  void commit_pending (const Now & now);
  void create_room (const Now & now);
  bool may_create_room (const MemberInfo & info) const;
  RoomRank own_room_rank () const;
  bool beats_another_room (const Peer & peer, const Now & now) const;
  bool joins_the_others_room (const Peer & peer, const Now & now) const;
  bool other_room_beating (const Now & now) const;
  bool smaller_eligible_joiner (const Now & now) const;
  void tick_membership (const Now & now);
  void removed_from_room (const std::string & reason);
  Status host_action (const char * type, const std::string & who, const Now & now);
  void report_roster ();

  /* sender-key-channels.cc: pairwise channels */
  OutChannel *out_channel (Peer & peer, bool fresh);
  void send_channel (Peer & peer, const wire::ChannelMessage & message, bool fresh_channel);
  void on_channel_setup (Peer & from, const ChannelSetup & setup, const Now & now);
  void replay_early (Peer & peer, const Now & now);
  void on_channel_message (const wire::Envelope & envelope, const Now & now);
  void open_channel_message (Peer & from, InChannel & channel, const wire::Envelope & envelope, const Now & now);

  /* sender-key-keys.cc: sender keys */
  bool may_publish (const MemberInfo & info) const;
  bool may_subscribe (const MemberInfo & info) const;
  uint64_t key_id_for (uint32_t index, uint32_t generation) const;
  uint32_t own_index () const;
  void send_key (Peer & peer, const OwnKey & key, const char * reason, bool fresh_channel);
  void make_own_key (const char * reason, const Now & now, uint32_t min_generation = 0);
  void switch_own_key (const Now & now);
  void ratchet_own_key (const std::set<std::string> & joined, const Now & now);
  int64_t retire_at (const Now & now) const;
  void expire_no_later_than (int64_t at_ms);
  void send_to_all_members (const OwnKey & key, const char * reason, const Now & now);
  int64_t creation_wait_ms () const;
  void on_key (Peer & from, const wire::ChannelMessage & message, const Now & now);
  void on_ack (Peer & from, const wire::ChannelMessage & message, const Now & now);
  bool may_reopen_ack_channel (const Now & now);
  void ratchet_peer_keys (const std::set<std::string> & except, const Now & now);
  void ratchet_for_joins_since (Peer & from, uint64_t epoch, const Now & now);
  void forget_peer_keys (Peer & peer, const Now & now);
  void expire_all_retired (const Now & now);
  void tick_keys (const Now & now);
  void resend_unacked_key (const Now & now);
  int64_t next_key_deadline () const;
  void drop_all_keys ();

  /* sender-key-acks.cc: a rotation's acks, through the committer */
  bool ack_through_committer (const wire::ChannelMessage & key) const;
  void defer_ack (Peer & from, const wire::ChannelMessage & key, const Now & now);
  void expect_fresh_keys (const Now & now);
  void send_held_report (const Now & now);
  void on_held (Peer & from, const wire::ChannelMessage & message, const Now & now);
  std::vector<TallyMember> tally_members () const;
  void answer_senders (std::vector<AckTally::Answer> answers, const Now & now);
  void narrow_awaited (uint64_t key_id, const std::vector<uint8_t> & lacking, const Now & now);
  bool awaits_committer (const Now & now) const;
  int64_t blind_resend_ms () const;
  void on_acked (Peer & from, const wire::ChannelMessage & message, const Now & now);
  void everyone_holds (uint64_t key_id, const Now & now);
  void tick_acks (const Now & now);
  void reset_acks ();
  int64_t next_ack_deadline () const;

  Config config_;
  CredentialRules rules_;
  KeyProviderOutputs *out_;
  token::Claims self_claims_;
  MemberInfo self_info_;
  std::string self_fp_;
  std::string subject_all_;
  std::string subject_self_;
  uint64_t sid_ = 0;
  uint64_t seq_ = 0;
  hpke::KeyPair hpke_;
  std::string own_hello_;
  std::string own_hello_hash_;
  std::string own_renewal_;            /* our newest `renew`, signed; or empty */
  int own_renewal_resends_ = 0;        /* sent again with the next heartbeats */

  Phase phase_ = Phase::idle;
  int64_t joined_ms_ = 0;
  int64_t next_hello_ms_ = 0;
  int64_t next_heartbeat_ms_ = 0;
  int64_t last_sync_ms_ = -1;
  int64_t committer_since_ms_ = -1;
  bool room_seen_ = false;            /* a joiner saw traffic of an existing room */
  /* Non-zero for a member the roster dropped without its leaving: its
   * hellos go with a fresh signed `here` (a resting session is heard only
   * through fresh messages), and a welcome must answer one of them
   * (`answers` at least this), so that the bus cannot hand it an old
   * welcome, of a room that has since changed. */
  uint64_t welcome_floor_ = 0;

  /* Hashed: looked up by fingerprint for every message, in a room of a
   * few hundred. Iterate it only where order does not matter. */
  std::unordered_map<std::string, Peer> peers_;
  UnattributedStash unattributed_;
  wire::Envelope spare_envelope_;      /* receive ()'s, kept for its storage */
  std::vector<uint8_t> aad_;           /* a channel message's, built just before use */
  std::set<std::string> refused_reported_;
  SessionLedger sessions_;            /* tokens used, sessions ended, departed */
  std::set<std::string> admitted_;
  std::set<std::string> leaving_;
  std::set<std::string> silent_;
  std::set<std::string> revoke_requests_;
  std::set<std::string> revoked_;
  RosterChain chain_;
  const Roster & roster_ = chain_.current ();   /* read-only: changes go through chain_ */
  bool hosts_in_roster_ = false;       /* cached: asked on every tick */
  mutable bool committer_known_ = false;
  mutable std::string committer_;
  bool membership_changed_ = true;     /* commit_pending () scans now */
  int64_t next_membership_scan_ms_ = 0; /* ... or then: liveness */
  std::unique_ptr<ParsedRoster> pending_roster_;   /* not yet justified, retried */
  int64_t pending_roster_ms_ = 0;

  OwnSenderKeys own_keys_;
  KeyDelivery delivery_;               /* of own_keys_.awaited () */
  int64_t reopen_window_ms_ = -1;      /* may_reopen_ack_channel () */
  uint32_t reopens_in_window_ = 0;

  /* A rotation's acks, through the committer (ack-tally.h). */
  HeldReport held_report_;
  AckTally ack_tally_;
  bool own_key_tallied_ = false;           /* our key awaits the committer's `acked` */
  bool committer_answered_ = false;        /* ... and it said something of it */
  /* The roster, by index (roster_members_changed): the committer looks
   * up two members for each of the N x N key ids reported per rotation.
   * Peers are never erased, so their info stays where it is. */
  std::unordered_map<uint32_t, const MemberInfo *> members_by_index_;
  /* No retired key (ours or a peer's) is due before this: ticks skip the
   * scan over every peer until then. May be early, never late. */
  int64_t next_retire_ms_ = INT64_MAX;

  Stats stats_;
};

}  // namespace room
}  // namespace sframe
