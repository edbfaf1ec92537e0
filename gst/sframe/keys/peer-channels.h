/* The pairwise channels between us and one session of a peer
 * (docs/key-protocol.md, "Pairwise channels"): the HPKE context we seal
 * with, the few the peer opened to us, and channel messages that came
 * before their channel. Signing a setup and sending are the provider's
 * (sender-key-channels.cc). */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/keys/hpke.h>
#include <gst/sframe/core/replay-window.h>
#include <gst/sframe/keys/room-wire.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sframe {
namespace room {

/* A channel we opened to the peer: an HPKE context we seal with. */
struct OutChannel {
  uint64_t id = 0;
  std::unique_ptr<hpke::Context> context;
  uint64_t next_seq = 0;
  uint64_t last_key_id = 0;   /* the last key sent on it */
  bool confirmed = false;     /* the peer acked that key: it reads this channel */
};

/* A channel the peer opened to us. */
struct InChannel {
  std::unique_ptr<hpke::Context> context;
  ReplayWindow seen;
  uint64_t opened = 0;   /* order of arrival among this peer's channels */
};

class PeerChannels {
public:
  /* Ours, or nullptr before the first is opened. */
  OutChannel *out () { return out_.get (); }
  /* A fresh channel to `hpke_key`, replacing ours: nullptr if HPKE failed;
   * `enc` is for the signed setup that tells the peer. */
  OutChannel *open (ByteView hpke_key, const std::string & room, std::vector<uint8_t> * enc);
  /* A key went out on ours; the peer acked a key. An ack of the last key
   * sent proves the peer reads this channel. */
  void sent_key (uint64_t key_id);
  void acked (uint64_t key_id);
  bool proven () const { return out_ && out_->confirmed; }

  /* The peer opened channel `id` to our `keys`: false if HPKE refused it.
   * Beyond a few, the oldest goes (ids are random: the smallest may be the
   * one the peer uses now). */
  bool accept (uint64_t id, ByteView enc, const hpke::KeyPair & keys, const std::string & room);
  bool has (uint64_t id) const { return in_.count (id) != 0; }
  InChannel *in (uint64_t id);

  /* A message before its channel's setup, or before the roster that
   * makes the peer a member: kept, up to a bound, for take_early (). */
  void keep_early (const wire::Envelope & envelope);
  std::vector<wire::Envelope> take_early ();
  bool has_early () const { return !early_.empty (); }

  /* The peer's session key changed: no channel survives. */
  void clear ();

private:
  std::unique_ptr<OutChannel> out_;
  std::map<uint64_t, InChannel> in_;   /* by channel id */
  uint64_t opened_ = 0;
  /* A vector: empty, it holds no memory (an empty deque holds a block),
   * and there is one per pair. */
  std::vector<wire::Envelope> early_;
};

}  // namespace room
}  // namespace sframe
