/* Pairwise channels: a sender opens one HPKE base-mode context
 * (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM) to a peer's session
 * key with a signed `channel` message, then seals every key, ack and ping
 * for that peer in it at an explicit sequence number (binary messages,
 * wire::ChannelMessage). One X25519 setup per
 * pair instead of one per key keeps a rotation at N members to N - 1
 * symmetric seals per sender (docs/key-protocol.md). */
#include <gst/sframe/sender-key-provider.h>

#include <gst/sframe/base64url.h>

#include <openssl/rand.h>

namespace sframe {
namespace room {

namespace {

constexpr size_t kMaxInChannels = 4;     /* per peer: a few re-openings in flight */
constexpr size_t kMaxEarly = 32;         /* channel messages waiting for their setup */

std::vector<uint8_t>
channel_info (const std::string & room)
{
  std::string info = "gst-sframe/1 channel";
  info.push_back ('\0');
  info += room;
  return std::vector<uint8_t> (info.begin (), info.end ());
}

uint64_t
random_u64 ()
{
  uint64_t value = 0;
  while (value == 0)
    if (RAND_bytes (reinterpret_cast<unsigned char *> (&value), sizeof value) != 1)
      return 0;
  return value;
}

}  // namespace

OutChannel *
SenderKeyProvider::out_channel (Peer & peer, bool fresh)
{
  if (peer.out && !fresh)
    return peer.out.get ();
  auto channel = std::make_unique<OutChannel> ();
  channel->id = random_u64 ();
  channel->context = std::make_unique<hpke::Context> ();
  std::vector<uint8_t> enc;
  if (channel->id == 0 || hpke::setup_sender (hpke::AeadId::aes_128_gcm, ByteView (peer.hpke_key),
          ByteView (channel_info (config_.room)), hpke::SetupOptions (), &enc, channel->context.get ()) != Status::ok)
    return nullptr;
  json setup = base_payload ("channel");
  setup["to"] = peer.info.fingerprint;
  setup["to_sid"] = wire::u64_hex (peer.sid);
  setup["id"] = wire::u64_hex (channel->id);
  setup["enc"] = base64url_encode (ByteView (enc));
  send_signed (inbox_of (peer), setup);
  peer.out = std::move (channel);
  return peer.out.get ();
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
  uint64_t id = setup.id;
  /* A channel to another device, or to an earlier session of ours. */
  if (setup.to != self_fp_ || setup.to_sid != sid_ || from.in.count (id))
    return;
  InChannel channel;
  channel.context = std::make_unique<hpke::Context> ();
  if (hpke::setup_receiver (hpke::AeadId::aes_128_gcm, ByteView (setup.enc), hpke_,
          ByteView (channel_info (config_.room)),
          hpke::SetupOptions (), channel.context.get ()) != Status::ok) {
    stats_.messages_rejected++;
    return;
  }
  /* Evict the oldest: ids are random, so the smallest may well be the
   * channel the peer uses now. */
  while (from.in.size () >= kMaxInChannels)
    from.in.erase (std::min_element (from.in.begin (), from.in.end (),
        [] (const auto & a, const auto & b) { return a.second.opened < b.second.opened; }));
  channel.opened = from.channels_opened++;
  from.in.emplace (id, std::move (channel));
  replay_early (from, now);
}

void
SenderKeyProvider::replay_early (Peer & peer, const Now & now)
{
  std::vector<wire::Envelope> early;
  early.swap (peer.early);
  for (const auto & envelope : early)
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
  auto channel = peer->second.in.find (header.id);
  if (channel == peer->second.in.end ()) {
    /* Its setup may still be on the way (reordering), or was lost: the
     * sender re-opens channels when its messages go unacknowledged. */
    if (peer->second.early.size () < kMaxEarly)
      peer->second.early.push_back (envelope);
    return;
  }
  open_channel_message (peer->second, channel->second, envelope, now);
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
    if (from.early.size () < kMaxEarly)
      from.early.push_back (envelope);
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
