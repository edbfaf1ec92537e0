/* What an attacker of the key protocol can do on the simulated room of
 * room-sim.h: read every message the bus carried, build signed messages
 * with a device key it holds (an expired token's, a former member's, an
 * ordinary member's), and open whatever was sealed to a session key it
 * holds. Keys are what matter: `AttackerDevice::keys_opened` lists every
 * sender key the attacker could take out of the bus log, so a test can
 * check that none of them decrypts media sent while it was outside the
 * room. Shared by the attack tests and the adversarial driver. */
#pragma once

#include "room-sim.h"

#include <gst/sframe/core/base64url.h>
#include <gst/sframe/keys/hpke.h>
#include <gst/sframe/keys/room-wire.h>

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace roomsim {

using json = nlohmann::json;

inline ByteView
text_bytes (const std::string & text)
{
  return ByteView (reinterpret_cast<const uint8_t *> (text.data ()), text.size ());
}

inline std::vector<uint8_t>
random_frame (size_t size = 200)
{
  std::vector<uint8_t> frame (size);
  RAND_bytes (frame.data (), static_cast<int> (frame.size ()));
  return frame;
}

/* Starts `n` members (the first a host) and runs until they share a
 * roster and every key; empty when they do not within the time. */
inline std::vector<Member *>
start_room (Sim & sim, size_t n)
{
  std::vector<Member *> group;
  for (size_t i = 0; i < n; i++)
    group.push_back (&sim.add ("m" + std::to_string (i), i == 0 ? token::Role::host : token::Role::member));
  if (!sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }))
    return {};
  return group;
}

/* Whether `m`'s roster lists `fingerprint`. */
inline bool
lists (const Member & m, const std::string & fingerprint)
{
  for (const auto & member : m.roster ().members)
    if (member.fingerprint == fingerprint)
      return true;
  return false;
}

/* The payload of a signed message of `type` (any type when empty), or a
 * discarded value. Read without verifying: this is the attacker's view. */
inline json
signed_payload (const BusMessage & message, const char * type = "")
{
  wire::Envelope envelope;
  if (!wire::parse_envelope ({ message.payload.data (), message.payload.size () }, &envelope) ||
      envelope.kind != wire::Envelope::Kind::signed_message)
    return json (json::value_t::discarded);
  json payload = json::parse (envelope.payload, nullptr, false);
  if (!payload.is_object () || (*type && payload.value ("type", "") != type))
    return json (json::value_t::discarded);
  return payload;
}

/* The last hello `fingerprint` sent (the whole signed message), or none. */
inline BusMessage
last_hello_of (const Sim & sim, const std::string & fingerprint)
{
  BusMessage found;
  for (const auto & message : sim.log) {
    json payload = signed_payload (message, "hello");
    if (!payload.is_discarded () && payload.value ("from", "") == fingerprint)
      found = message;
  }
  return found;
}

/* The hello's signed text, for its hash (what rosters name). */
inline std::string
hello_hash_of (const BusMessage & hello)
{
  wire::Envelope envelope;
  if (!wire::parse_envelope (ByteView (hello.payload), &envelope))
    return {};
  return wire::sha256_hex (text_bytes (envelope.payload));
}

/* The roster's entries as the last roster change and welcomes on the bus
 * tell them: fingerprint -> (index, hello hash), and the state hash. */
struct ObservedRoster {
  uint64_t epoch = 0;
  uint64_t next = 0;
  std::string hash;
  std::map<std::string, std::pair<uint32_t, std::string>> members;
};

inline ObservedRoster
observe_roster (const Sim & sim)
{
  ObservedRoster roster;
  for (const auto & message : sim.log) {
    json payload = signed_payload (message, "roster");
    if (payload.is_discarded () || payload.value ("epoch", 0ull) <= roster.epoch)
      continue;
    roster.epoch = payload["epoch"];
    roster.next = payload["next"];
    roster.hash = payload["hash"];
    for (const auto & fp : payload["removed"])
      roster.members.erase (fp.get<std::string> ());
    for (const auto & m : payload["added"])
      roster.members[m[0].get<std::string> ()] = { m[1].get<uint32_t> (), m[2].get<std::string> () };
  }
  return roster;
}

/* A device in the attacker's hands: its key, a token (valid or not) and
 * session keys it makes up. */
struct AttackerDevice {
  Identity identity;
  std::string token;
  hpke::KeyPair session;
  uint64_t sid = 0xa77ac4e5u;
  uint64_t seq = 1000;
  std::vector<hpke::KeyPair> session_keys;   /* every session key it ever used */

  AttackerDevice ()
  {
    Identity::generate (&identity);
    new_session_key ();
  }
  /* Takes over a member's device (its key), as a thief or a leaver would. */
  explicit AttackerDevice (const Identity & device) : identity (device) { new_session_key (); }

  std::string fingerprint () const { return identity.fingerprint (); }

  void new_session_key ()
  {
    hpke::generate_key_pair (&session);
    session_keys.push_back (session);
  }

  /* The common fields of a signed payload, from this device. */
  json payload (const Sim & sim, const char * type)
  {
    return { { "v", 1 }, { "type", type }, { "room", sim.room () }, { "from", fingerprint () },
      { "sid", wire::u64_hex (sid) }, { "seq", ++seq } };
  }

  std::vector<uint8_t> sign (const json & payload) const { return wire::make_signed (identity, payload.dump ()); }

  /* A hello with its token and current session key, dated `t`. */
  BusMessage hello (const Sim & sim, int64_t t)
  {
    json hello = payload (sim, "hello");
    hello["token"] = token;
    hello["hpk"] = base64url_encode (ByteView (session.public_key));
    hello["t"] = t;
    return { wire::subject_all (sim.room ()), sign (hello) };
  }

  /* Every sender key sealed on the bus to any session key of this device:
   * key id -> key bytes (and -> the sender's fingerprint in *senders).
   * Channel setups and messages are taken from the
   * log in order, as the device itself would have read them. */
  std::map<uint64_t, std::vector<uint8_t>> keys_opened (const Sim & sim,
      std::map<uint64_t, std::string> * senders = nullptr) const
  {
    std::map<uint64_t, std::vector<uint8_t>> keys;
    /* (sender, channel id, which of our session keys) -> context */
    std::map<std::tuple<std::string, uint64_t, size_t>, std::unique_ptr<hpke::Context>> channels;
    std::string info = std::string ("gst-sframe/1 channel") + '\0' + sim.room ();
    for (const auto & message : sim.log) {
      wire::Envelope envelope;
      if (!wire::parse_envelope (ByteView (message.payload), &envelope))
        continue;
      if (envelope.kind == wire::Envelope::Kind::signed_message) {
        json setup = json::parse (envelope.payload, nullptr, false);
        std::vector<uint8_t> enc;
        uint64_t id = 0;
        if (!setup.is_object () || setup.value ("type", "") != "channel" || setup.value ("to", "") != fingerprint () ||
            !base64url_decode (setup.value ("enc", ""), &enc) || !wire::parse_u64_hex (setup.value ("id", ""), &id))
          continue;
        for (size_t i = 0; i < session_keys.size (); i++) {
          auto context = std::make_unique<hpke::Context> ();
          if (hpke::setup_receiver (hpke::AeadId::aes_128_gcm, ByteView (enc), session_keys[i], text_bytes (info),
                  hpke::SetupOptions (), context.get ()) != Status::ok)
            continue;
          /* Every session key "opens" a setup (HPKE has no key check): the
           * wrong one fails at the first message, so keep them all. */
          channels[{ setup.value ("from", ""), id, i }] = std::move (context);
        }
        continue;
      }
      if (envelope.channel.to != fingerprint ())
        continue;
      for (size_t i = 0; i < session_keys.size (); i++) {
        auto channel = channels.find ({ envelope.channel.from, envelope.channel.id, i });
        if (channel == channels.end ())
          continue;
        SecureBytes plaintext;
        if (channel->second->open_at (envelope.channel.n, ByteView (wire::channel_aad (sim.room (), envelope.channel)),
                ByteView (envelope.ciphertext), &plaintext) != Status::ok)
          continue;
        wire::ChannelMessage decoded;
        if (wire::decode_channel_message (plaintext.view (), &decoded) &&
            decoded.type == wire::ChannelMessage::Type::key) {
          keys[decoded.key_id].assign (decoded.secret.data, decoded.secret.data + decoded.secret.size);
          if (senders)
            (*senders)[decoded.key_id] = envelope.channel.from;
        }
      }
    }
    return keys;
  }
};

/* While `*deaf`, `member` misses every broadcast of the room (the bus
 * cuts it off the room's subject); its inbox still reaches it. */
inline void
cut_off_broadcasts (Sim & sim, const Member & member, const bool * deaf)
{
  std::string all = wire::subject_all (sim.room ());
  sim.reaches = [all, &member, deaf] (const BusMessage & message, const Member & m) {
    return !(*deaf && &m == &member && message.subject == all);
  };
}

/* A channel message from `from` to `to`: what a test holds back or drops
 * to reorder one pair's traffic. */
inline bool
is_channel_from_to (const BusMessage & message, const std::string & from, const std::string & to)
{
  wire::Envelope envelope;
  return wire::parse_envelope (ByteView (message.payload), &envelope) &&
      envelope.kind == wire::Envelope::Kind::channel_message && envelope.channel.from == from &&
      envelope.channel.to == to;
}

/* Whether any key in `keys` decrypts `ciphertext` (a frame of a sender). */
inline bool
any_key_decrypts (const std::map<uint64_t, std::vector<uint8_t>> & keys, const std::vector<uint8_t> & ciphertext)
{
  for (const auto & key : keys) {
    KeyRing ring;
    Header header;
    size_t header_len = 0;
    if (decode_header (ByteView (ciphertext), &header, &header_len) != Status::ok)
      return false;
    ring.add_key (CipherSuite::aes_128_gcm_sha256_128, header.key_id, ByteView (key.second));
    if (decrypts (ring, ciphertext))
      return true;
  }
  return false;
}

/* A welcome signed by `signer`, to `to`, carrying `hellos` and a snapshot
 * of `members` (fingerprint -> index, hello hash) at `epoch` whose state
 * hash is right, so that only the receiver's own rules can refuse it. */
inline BusMessage
forge_welcome (const Sim & sim, AttackerDevice & signer, const std::string & to, uint64_t epoch,
    const std::map<std::string, std::pair<uint32_t, std::string>> & members, const std::vector<BusMessage> & hellos)
{
  uint64_t next = 1;
  for (const auto & m : members)
    next = std::max<uint64_t> (next, m.second.first + 1);
  wire::StateHash hash (epoch, next, "", members.size ());
  json list = json::array ();
  for (const auto & m : members) {
    hash.member (m.first, m.second.first, m.second.second);
    list.push_back ({ m.first, m.second.first, m.second.second });
  }
  json welcome = signer.payload (sim, "welcome");
  welcome["to"] = to;
  welcome["roster"] = { { "epoch", epoch }, { "next", next }, { "prev", "" }, { "hash", hash.hex () },
    { "change", "join" }, { "members", list } };
  json texts = json::array ();
  for (const auto & hello : hellos)
    texts.push_back (std::string (hello.payload.begin (), hello.payload.end ()));
  welcome["hellos"] = texts;
  return { wire::subject_to (sim.room (), to), signer.sign (welcome) };
}

}  // namespace roomsim
