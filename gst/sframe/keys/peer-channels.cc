/* The pairwise channels with one peer session (peer-channels.h): HPKE
 * base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, bound
 * to the room by the info string. */
#include <gst/sframe/keys/peer-channels.h>

#include <gst/sframe/keys/random-id.h>

#include <algorithm>

namespace sframe {
namespace room {

namespace {

constexpr size_t kMaxInChannels = 4;   /* a few re-openings in flight */
constexpr size_t kMaxEarly = 32;       /* messages waiting for their setup or roster */

std::vector<uint8_t>
channel_info (const std::string & room)
{
  std::string info = "gst-sframe/1 channel";
  info.push_back ('\0');
  info += room;
  return std::vector<uint8_t> (info.begin (), info.end ());
}

}  // namespace

OutChannel *
PeerChannels::open (ByteView hpke_key, const std::string & room, std::vector<uint8_t> * enc)
{
  auto channel = std::make_unique<OutChannel> ();
  channel->id = random_id ();
  channel->context = std::make_unique<hpke::Context> ();
  if (channel->id == 0 || hpke::setup_sender (hpke::AeadId::aes_128_gcm, hpke_key, ByteView (channel_info (room)),
          hpke::SetupOptions (), enc, channel->context.get ()) != Status::ok)
    return nullptr;
  out_ = std::move (channel);
  return out_.get ();
}

void
PeerChannels::sent_key (uint64_t key_id)
{
  if (out_)
    out_->last_key_id = key_id;
}

void
PeerChannels::acked (uint64_t key_id)
{
  if (out_ && out_->last_key_id == key_id)
    out_->confirmed = true;
}

bool
PeerChannels::accept (uint64_t id, ByteView enc, const hpke::KeyPair & keys, const std::string & room)
{
  InChannel channel;
  channel.context = std::make_unique<hpke::Context> ();
  if (hpke::setup_receiver (hpke::AeadId::aes_128_gcm, enc, keys, ByteView (channel_info (room)),
          hpke::SetupOptions (), channel.context.get ()) != Status::ok)
    return false;
  while (in_.size () >= kMaxInChannels)
    in_.erase (std::min_element (in_.begin (), in_.end (),
        [] (const auto & a, const auto & b) { return a.second.opened < b.second.opened; }));
  channel.opened = opened_++;
  in_.emplace (id, std::move (channel));
  return true;
}

InChannel *
PeerChannels::in (uint64_t id)
{
  auto channel = in_.find (id);
  return channel == in_.end () ? nullptr : &channel->second;
}

void
PeerChannels::keep_early (const wire::Envelope & envelope)
{
  if (early_.size () < kMaxEarly)
    early_.push_back (envelope);
}

std::vector<wire::Envelope>
PeerChannels::take_early ()
{
  std::vector<wire::Envelope> early;
  early.swap (early_);
  return early;
}

void
PeerChannels::clear ()
{
  out_.reset ();
  in_.clear ();
}

}  // namespace room
}  // namespace sframe
