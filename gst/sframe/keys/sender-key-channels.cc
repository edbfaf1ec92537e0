/* Pairwise channels: a sender opens one HPKE base-mode context
 * (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM) to a peer's session
 * key with a signed `channel` message, then seals every key, ack and ping
 * for that peer in it at an explicit sequence number (binary messages,
 * wire::ChannelMessage). One X25519 setup per
 * pair instead of one per key keeps a rotation at N members to N - 1
 * symmetric seals per sender (docs/key-protocol.md). */
#include <gst/sframe/keys/sender-key-provider.h>

#include <gst/sframe/core/base64url.h>

namespace sframe {
namespace room {

OutChannel *
SenderKeyProvider::out_channel (Peer & peer, bool fresh)
{
  if (peer.channels.out () && !fresh)
    return peer.channels.out ();
  std::vector<uint8_t> enc;
  OutChannel *channel = peer.channels.open (ByteView (peer.hpke_key), config_.room, &enc);
  if (!channel)
    return nullptr;
  json setup = base_payload ("channel");
  setup["to"] = peer.info.fingerprint;
  setup["to_sid"] = wire::u64_hex (peer.sid);
  setup["id"] = wire::u64_hex (channel->id);
  setup["enc"] = base64url_encode (ByteView (enc));
  send_signed (inbox_of (peer), setup);
  return channel;
}

void
SenderKeyProvider::send_channel (Peer & peer, const wire::ChannelMessage & message, bool fresh_channel)
{
  OutChannel *channel = out_channel (peer, fresh_channel);
  if (!channel)
    return;
  SecureBytes plaintext = wire::encode_channel_message (message);
  if (plaintext.empty ())
    return;

  wire::ChannelHeader header { self_fp_, peer.info.fingerprint, channel->id, channel->next_seq++ };
  std::vector<uint8_t> ciphertext;
  wire::write_channel_aad (config_.room, header, &aad_);
  if (channel->context->seal_at (header.n, ByteView (aad_), plaintext.view (), &ciphertext) != Status::ok)
    return;
  auto bytes = wire::make_channel (header, ByteView (ciphertext));
  if (bytes.empty ())
    return;
  stats_.messages_sent++;
  stats_.bytes_sent += bytes.size ();
  out_->publish (inbox_of (peer), bytes);
}

void
SenderKeyProvider::on_channel_setup (Peer & from, const ChannelSetup & setup, const Now & now)
{
  /* A channel to another device, or to an earlier session of ours. */
  if (setup.to != self_fp_ || setup.to_sid != sid_ || from.channels.has (setup.id))
    return;
  if (!from.channels.accept (setup.id, ByteView (setup.enc), hpke_, config_.room)) {
    stats_.messages_rejected++;
    return;
  }
  replay_early (from, now);
}

void
SenderKeyProvider::replay_early (Peer & peer, const Now & now)
{
  for (const auto & envelope : peer.channels.take_early ())
    on_channel_message (envelope, now);
}

void
SenderKeyProvider::on_channel_message (const wire::Envelope & envelope, const Now & now)
{
  const wire::ChannelHeader & header = envelope.channel;
  if (header.to != self_fp_)
    return;
  auto peer = peers_.find (header.from);
  if (peer == peers_.end ()) {
    stash_unattributed (envelope, now);
    return;
  }
  InChannel *channel = peer->second.channels.in (header.id);
  if (!channel) {
    /* Its setup may still be on the way (reordering), or was lost: the
     * sender re-opens channels when its messages go unacknowledged. */
    peer->second.channels.keep_early (envelope);
    return;
  }
  open_channel_message (peer->second, *channel, envelope, now);
}

void
SenderKeyProvider::open_channel_message (Peer & from, InChannel & channel, const wire::Envelope & envelope,
    const Now & now)
{
  SecureBytes plaintext;
  bool unseen = channel.seen.would_accept (envelope.channel.n);
  if (unseen)
    wire::write_channel_aad (config_.room, envelope.channel, &aad_);
  if (!unseen || channel.context->open_at (envelope.channel.n, ByteView (aad_), ByteView (envelope.ciphertext),
          &plaintext) != Status::ok) {
    stats_.messages_rejected++;
    return;
  }
  wire::ChannelMessage message;
  if (!wire::decode_channel_message (plaintext.view (), &message)) {
    channel.seen.check_and_mark (envelope.channel.n);
    stats_.messages_rejected++;
    return;
  }
  if (message.type == wire::ChannelMessage::Type::key && !from.in_roster) {
    /* A key from a member of a roster we have not applied yet (a joiner
     * before its welcome): opened again once we have. */
    from.channels.keep_early (envelope);
    return;
  }
  channel.seen.check_and_mark (envelope.channel.n);
  from.last_heard_ms = now.ms;
  if (message.type == wire::ChannelMessage::Type::key)
    on_key (from, message, now);
  else if (message.type == wire::ChannelMessage::Type::ack)
    on_ack (from, message, now);
  else if (message.type == wire::ChannelMessage::Type::held)
    on_held (from, message, now);
  else if (message.type == wire::ChannelMessage::Type::acked)
    on_acked (from, message, now);
}

}  // namespace room
}  // namespace sframe
