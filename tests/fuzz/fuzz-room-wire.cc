/* The key protocol's envelope and channel-message parsers on arbitrary
 * bytes: what the bus hands a member before any signature or AEAD check.
 * Whatever parses must re-encode to exactly the bytes read (one encoding
 * per message), and nothing may read outside the input. */
#include "fuzz-common.h"

#include <gst/sframe/keys/room-wire.h>

#include <cstring>
#include <vector>

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  /* An exact-size copy, so ASan sees a read past the end. */
  std::vector<uint8_t> input (data, data + size);
  sframe::ByteView bytes (input.data (), input.size ());

  sframe::room::wire::Envelope envelope;
  if (sframe::room::wire::parse_envelope (bytes, &envelope) &&
      envelope.kind == sframe::room::wire::Envelope::Kind::channel_message) {
    auto again = sframe::room::wire::make_channel (envelope.channel,
        {envelope.ciphertext.data (), envelope.ciphertext.size ()});
    FUZZ_CHECK (again == input);
  }

  sframe::room::wire::ChannelMessage message;
  if (sframe::room::wire::decode_channel_message (bytes, &message)) {
    sframe::SecureBytes again = sframe::room::wire::encode_channel_message (message);
    FUZZ_CHECK (again.size () == size && std::memcmp (again.data (), data, size) == 0);
  }
  return 0;
}
