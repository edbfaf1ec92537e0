/* Rooms through a real SFU: members as separate gst-launch-1.0 processes,
 * each one launch line (keymanager over a nats-server, janusroomsink and
 * janusroomsrc over a Janus), all started by the test in a network
 * namespace of its own (media-netns.h). What each member received is read
 * from the stats messages its elements post (`gst-launch-1.0 -m`):
 * per sender, frames decrypted (AES-GCM authenticated: exactly the bytes
 * the sender encrypted) and decoded, against the frames that sender's
 * janusroomsink sent over the same wall-clock window. */
#include "janus-connection.h"
#include "janus-room-member.h"
#include "janus-server.h"
#include "media-netns.h"
#include "nats-server.h"
#include "recording-check.h"
#include "room-credentials.h"
#include "server-process.h"

#include <gst/gst.h>
#include <gst/sframe/core/header.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using namespace sframe_test;
using Clock = std::chrono::steady_clock;

std::string g_namespace_error;
constexpr const char *kRoom = "standup";
constexpr int64_t kCarolTokenSeconds = 40;

/* A counter read from a series of stats messages, interpolated at a
 * wall-clock time. */
using Series = std::vector<std::pair<int64_t, double>>;

double
at (const Series & series, int64_t wall_ms)
{
  if (series.empty ())
    return 0;
  if (wall_ms <= series.front ().first)
    return series.front ().second;
  for (size_t i = 1; i < series.size (); i++) {
    if (series[i].first >= wall_ms) {
      auto [t0, v0] = series[i - 1];
      auto [t1, v1] = series[i];
      return t1 == t0 ? v1 : v0 + (v1 - v0) * double (wall_ms - t0) / double (t1 - t0);
    }
  }
  return series.back ().second;
}

/* The sum of `field` over the structures of the list `list` in the stats
 * message `text` that `keep` accepts (0 when it does not parse). */
template <typename Keep>
guint64
sum_over_list (const std::string & text, const char *list, const char *field, Keep keep)
{
  GstStructure *s = gst_structure_from_string (text.c_str (), nullptr);
  const GValue *items = s ? gst_structure_get_value (s, list) : nullptr;
  guint64 sum = 0;
  for (guint i = 0; items && GST_VALUE_HOLDS_LIST (items) && i < gst_value_list_get_size (items); i++) {
    const GValue *v = gst_value_list_get_value (items, i);
    guint64 n = 0;
    if (GST_VALUE_HOLDS_STRUCTURE (v) && keep (gst_value_get_structure (v)) &&
        gst_structure_get_uint64 (gst_value_get_structure (v), field, &n))
      sum += n;
  }
  if (s)
    gst_structure_free (s);
  return sum;
}

/* True when `s` has string `field` equal to `value`. */
bool
has (const GstStructure * s, const char *field, const std::string & value)
{
  const gchar *text = gst_structure_get_string (s, field);
  return text && value == text;
}

/* Each tile's counter `field` over time, for the tile of `sender` and
 * `media` in `receiver`'s janusroomsrc stats. */
Series
tile_series (const Member & receiver, const std::string & sender, const std::string & media, const char *field)
{
  Series series;
  for (auto & [wall, text] : receiver.messages ("sub", "janus-room-src-stats"))
    series.emplace_back (wall, double (sum_over_list (text, "tiles", field, [&] (const GstStructure * tile) {
      return has (tile, "name", sender) && has (tile, "media", media);
    })));
  return series;
}

/* What `sender`'s janusroomsink sent of `media`: frames for video (RTP
 * marker), packets for audio (one Opus frame each). */
Series
sent_series (const Member & sender, const std::string & media)
{
  Series series;
  const char *field = media == "video" ? "frames" : "packets";
  for (auto & [wall, text] : sender.messages ("pub", "janus-room-sink-stats"))
    series.emplace_back (wall, double (sum_over_list (text, "input-counters", field, [&] (const GstStructure * in) {
      return has (in, "media", media);
    })));
  return series;
}

/* A counter of the latest stats message `element` of `member` posted. */
guint64
latest_counter (const Member & member, const std::string & element, const std::string & kind, const char *field)
{
  auto messages = member.messages (element, kind);
  if (messages.empty ())
    return 0;
  GstStructure *s = gst_structure_from_string (messages.back ().second.c_str (), nullptr);
  guint64 value = 0;
  guint small = 0;
  if (!gst_structure_get_uint64 (s, field, &value) && gst_structure_get_uint (s, field, &small))
    value = small;
  gst_structure_free (s);
  return value;
}

/* The sum of `field` over the structures of the list `list` in the latest
 * stats message (e.g. every input of a janusroomsink). */
guint64
latest_counter_in (const Member & member, const std::string & element, const std::string & kind, const char *list,
    const char *field)
{
  auto messages = member.messages (element, kind);
  if (messages.empty ())
    return 0;
  return sum_over_list (messages.back ().second, list, field, [] (const GstStructure *) { return true; });
}

template <typename Done>
bool
wait_for (Done done, int seconds)
{
  auto deadline = Clock::now () + std::chrono::seconds (seconds);
  while (Clock::now () < deadline) {
    if (done ())
      return true;
    std::this_thread::sleep_for (std::chrono::milliseconds (250));
  }
  return done ();
}

/* A forger's probe: puts the key id `data` points to in the SFrame header
 * of each codec-mode VP8 frame (after its clear prefix), as an SFU that
 * relabels a stream would. The frame no longer authenticates under that
 * key id's key. */
GstPadProbeReturn
forge_key_id (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *in = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  if (!gst_buffer_map (in, &map, GST_MAP_READ))
    return GST_PAD_PROBE_DROP;
  size_t prefix = map.size > 0 && (map.data[0] & 1) == 0 ? 10 : 3;
  sframe::Header header;
  size_t header_len = 0;
  if (map.size <= prefix || sframe::decode_header ({map.data + prefix, map.size - prefix}, &header, &header_len) !=
      sframe::Status::ok) {
    gst_buffer_unmap (in, &map);
    return GST_PAD_PROBE_DROP;
  }
  header.key_id = *static_cast<const uint64_t *> (data);
  std::vector<uint8_t> out (map.data, map.data + prefix);
  uint8_t encoded[sframe::kMaxHeaderSize];
  out.insert (out.end (), encoded, encoded + sframe::encode_header (header, encoded));
  out.insert (out.end (), map.data + prefix + header_len, map.data + map.size);
  gst_buffer_unmap (in, &map);
  GstBuffer *forged = gst_buffer_new_memdup (out.data (), out.size ());
  gst_buffer_copy_into (forged, in, GST_BUFFER_COPY_METADATA, 0, -1);
  gst_buffer_unref (in);
  GST_PAD_PROBE_INFO_DATA (info) = forged;
  return GST_PAD_PROBE_OK;
}

/* A pipeline of the test's own, stopped when it goes. */
struct OwnPipeline {
  GstElement *pipeline = nullptr;
  ~OwnPipeline ()
  {
    if (pipeline) {
      gst_element_set_state (pipeline, GST_STATE_NULL);
      gst_object_unref (pipeline);
    }
  }
};

int64_t
wall_now_ms ()
{
  return g_get_real_time () / 1000;
}

class JanusRoom : public ::testing::Test {
protected:
  void SetUp () override
  {
    if (!g_namespace_error.empty ()) {
      if (std::getenv ("CI"))
        FAIL () << "no network namespace for media through Janus: " << g_namespace_error;
      GTEST_SKIP () << "no network namespace for media through Janus: " << g_namespace_error;
    }
    if (find_janus ().empty ())
      GTEST_SKIP () << "janus is not installed";
    std::string error;
    ASSERT_TRUE (nats_.start (1, &error)) << error;
    janus_.set_ice_interface (kSfuInterface);
    ASSERT_TRUE (janus_.start (&error)) << error;
    /* carol's token runs out mid-meeting: her keymanager leaves then. */
    ASSERT_NO_FATAL_FAILURE (make_credentials (dir_.path (), kRoom, {"alice", "bob", "carol", "dave"},
        &credentials_, {{"carol", kCarolTokenSeconds}}));
  }

  const Device & device (const std::string & name)
  {
    for (const auto & d : credentials_.devices)
      if (d.name == name)
        return d;
    return credentials_.devices.front ();
  }

  /* A full member, as a user writes it: keys from the keymanager,
   * camera and microphone out, everyone else in. */
  std::string member_line (const std::string & name, const std::string & video_caps = "width=320,height=180")
  {
    const Device & d = device (name);
    std::string server = janus_.ws_url ();
    return "keymanager room=" + std::string (kRoom) + " bus=" + nats_.url (0) + " identity=" + d.key_path +
        " token-file=" + d.token_path + " authority=" + credentials_.authority_path +
        " janusroomsink name=pub room=" + kRoom + " server=" + server + " admin-key=" + JanusServer::kAdminKey +
        " local-address=" + kMemberAddress + " stats-interval=250" +
        " videotestsrc is-live=true pattern=ball ! video/x-raw," + video_caps + ",framerate=30/1" +
        " ! vp8enc deadline=1 keyframe-max-dist=30 ! sframeenc room=" + kRoom + " ! rtpvp8sframepay ! pub." +
        " audiotestsrc is-live=true ! opusenc ! sframeenc room=" + kRoom + " ! rtpopuspay ! pub." +
        " janusroomsrc name=sub room=" + kRoom + " server=" + server + " local-address=" + kMemberAddress +
        " width=320 height=180 stats-interval=250" +
        " sub.video ! fakesink sync=false sub.audio ! fakesink sync=false";
  }

  /* A publisher in the Janus room with a static key the room does not
   * know: no roster member owns its key id. `between` goes between
   * sframeenc and the payloader. */
  std::string intruder_line (const std::string & between = "")
  {
    return "janusroomsink name=pub room=" + std::string (kRoom) + " server=" + janus_.ws_url () + " admin-key=" +
        JanusServer::kAdminKey + " local-address=" + kMemberAddress + " stats-interval=250" +
        " videotestsrc is-live=true ! video/x-raw,width=320,height=180,framerate=30/1"
        " ! vp8enc deadline=1 keyframe-max-dist=30 ! sframeenc key=00112233445566778899aabbccddeeff ! " + between +
        " rtpvp8sframepay ! pub.";
  }

  /* An intruder, in this process, whose frames claim `*key_id` (a roster
   * member's) in their SFrame headers. */
  void start_forger (const uint64_t * key_id, OwnPipeline * forger)
  {
    GError *error = nullptr;
    forger->pipeline = gst_parse_launch (intruder_line ("identity name=forge !").c_str (), &error);
    ASSERT_TRUE (forger->pipeline) << (error ? error->message : "");
    GstElement *forge = gst_bin_get_by_name (GST_BIN (forger->pipeline), "forge");
    GstPad *out = gst_element_get_static_pad (forge, "src");
    gst_pad_add_probe (out, GST_PAD_PROBE_TYPE_BUFFER, forge_key_id, const_cast<uint64_t *> (key_id), nullptr);
    gst_object_unref (out);
    gst_object_unref (forge);
    gst_element_set_state (forger->pipeline, GST_STATE_PLAYING);
  }

  Member & start_member (const std::string & name, const std::string & line)
  {
    members_.push_back (std::make_unique<Member> (name, dir_.path () + "/" + name + ".log"));
    std::string error;
    EXPECT_TRUE (members_.back ()->start (line, &error)) << error;
    return *members_.back ();
  }

  std::string describe (const Member & m)
  {
    std::string text = m.name () + " sees:";
    for (const auto & t : latest_tiles (m))
      text += " [" + t.media + " " + t.label + "]";
    return text + "\n--- " + m.name () + " log notes ---\n" + m.log_notes () + "--- log tail ---\n" +
        m.log_tail ().substr (0, 1500);
  }

  ScratchDir dir_ {"janus-room"};
  NatsServers nats_;
  JanusServer janus_;
  Credentials credentials_;
  std::vector<std::unique_ptr<Member>> members_;
};

TEST_F (JanusRoom, ThreeMembersReceiveEachOtherDecryptedThroughJanus)
{
  std::vector<std::string> names = {"alice", "bob", "carol"};
  for (const auto & n : names)
    start_member (n, member_line (n));
  auto others = [&] (const std::string & me) {
    std::vector<std::string> o;
    for (const auto & n : names)
      if (n != me)
        o.push_back (n);
    return o;
  };
  ASSERT_TRUE (wait_for ([&] {
    for (auto & m : members_)
      if (!sees_everyone (*m, others (m->name ())))
        return false;
    return true;
  }, 60)) << describe (*members_[0]) << describe (*members_[1]) << describe (*members_[2]);

  /* The room formed: measure over the next seconds. */
  int64_t from = wall_now_ms () + 1000;
  std::this_thread::sleep_for (std::chrono::seconds (9));
  int64_t to = wall_now_ms () - 1000;
  for (auto & receiver : members_) {
    for (auto & sender : members_) {
      if (sender == receiver)
        continue;
      for (const char *media : {"video", "audio"}) {
        Series sent = sent_series (*sender, media);
        double sent_n = at (sent, to) - at (sent, from);
        Series decrypted = tile_series (*receiver, sender->name (), media, "frames");
        Series decoded = tile_series (*receiver, sender->name (), media, "decoded");
        double decrypted_n = at (decrypted, to) - at (decrypted, from);
        double decoded_n = at (decoded, to) - at (decoded, from);
        ASSERT_GT (sent_n, 50) << sender->name () << " sent too little " << media;
        EXPECT_GE (decrypted_n / sent_n, 0.98) << receiver->name () << " decrypted " << decrypted_n << " of "
            << sent_n << " " << media << " frames from " << sender->name ();
        EXPECT_GE (decoded_n / sent_n, 0.98) << receiver->name () << " decoded " << decoded_n << " of " << sent_n
            << " " << media << " frames from " << sender->name ();
        std::printf ("%s <- %s %s: sent %.0f, decrypted %.0f (%.1f%%), decoded %.0f\n", receiver->name ().c_str (),
            sender->name ().c_str (), media, sent_n, decrypted_n, 100 * decrypted_n / sent_n, decoded_n);
      }
    }
    /* Nothing was redone on a healthy path. */
    EXPECT_EQ (latest_counter (*receiver, "pub", "janus-room-sink-stats", "reconnects"), 0u) << receiver->name ();
    EXPECT_EQ (latest_counter (*receiver, "sub", "janus-room-src-stats", "resubscriptions"), 0u)
        << receiver->name ();
  }
}

/* carol leaves (her token runs out; her pipeline keeps running) and dave
 * joins late, during live media: alice and bob lose nothing beyond the
 * switches, carol decrypts nothing once the others have rotated, and dave
 * decrypts both within seconds of joining (the time is printed). */
TEST_F (JanusRoom, ALeaverDecryptsNothingMoreAndALateJoinerSeesEveryone)
{
  auto started = Clock::now ();
  /* The host opens the room; the others join it. */
  Member & alice = start_member ("alice", member_line ("alice"));
  std::this_thread::sleep_for (std::chrono::seconds (1));
  Member & bob = start_member ("bob", member_line ("bob"));
  Member & carol = start_member ("carol", member_line ("carol"));
  ASSERT_TRUE (wait_for ([&] {
    return sees_everyone (alice, {"bob", "carol"}) && sees_everyone (bob, {"alice", "carol"}) &&
        sees_everyone (carol, {"alice", "bob"});
  }, kCarolTokenSeconds - 10)) << describe (alice) << describe (bob) << describe (carol);
  int64_t formed = wall_now_ms ();

  /* carol's keymanager leaves when her token expires. */
  auto left = [&] {
    std::ifstream in (dir_.path () + "/carol.log");
    std::string line;
    while (std::getline (in, line))
      if (line.find ("sframe-left") != std::string::npos)
        return true;
    return false;
  };
  int remaining = kCarolTokenSeconds + 15 -
      (int) std::chrono::duration_cast<std::chrono::seconds> (Clock::now () - started).count ();
  ASSERT_TRUE (wait_for (left, remaining)) << describe (carol);
  int64_t left_at = wall_now_ms ();

  auto dave_started = Clock::now ();
  Member & dave = start_member ("dave", member_line ("dave"));
  ASSERT_TRUE (wait_for ([&] { return sees_everyone (dave, {"alice", "bob"}); }, 30)) << describe (dave);
  double join_seconds = std::chrono::duration<double> (Clock::now () - dave_started).count ();
  std::this_thread::sleep_for (std::chrono::seconds (4));
  int64_t end = wall_now_ms () - 500;

  /* Once alice and bob have rotated (within 3 s of the leave), carol
   * decrypts nothing of theirs; what reaches her is counted as unknown-key
   * or failed. */
  for (const char *sender : {"alice", "bob"}) {
    Series decrypted = tile_series (carol, sender, "video", "frames");
    double after = at (decrypted, end) - at (decrypted, left_at + 3000);
    EXPECT_EQ (after, 0) << "carol decrypted " << after << " frames of " << sender << " after leaving";
    /* They did reach her: refused, not missing. */
    double refused = 0;
    for (const char *field : {"unknown-key", "auth-failures"}) {
      Series s = tile_series (carol, "", "video", field);
      refused += at (s, end) - at (s, left_at + 3000);
    }
    EXPECT_GT (refused, 30) << "carol's receiver saw no frames after leaving: " << describe (carol);
  }
  /* alice and bob: nothing lost across carol's leave and dave's join. */
  for (auto [receiver_p, sender_p] : std::vector<std::pair<Member *, Member *>> {{&alice, &bob}, {&bob, &alice}}) {
    Member & receiver = *receiver_p;
    Member & sender = *sender_p;
    double sent_n = at (sent_series (sender, "video"), end) - at (sent_series (sender, "video"), formed);
    Series decrypted = tile_series (receiver, sender.name (), "video", "frames");
    double decrypted_n = at (decrypted, end) - at (decrypted, formed);
    EXPECT_GE (decrypted_n / sent_n, 0.98) << receiver.name () << " decrypted " << decrypted_n << " of " << sent_n
        << " video frames from " << sender.name () << " across the leave and the join";
    std::printf ("%s <- %s video across leave and join: sent %.0f, decrypted %.0f (%.1f%%)\n",
        receiver.name ().c_str (), sender.name ().c_str (), sent_n, decrypted_n, 100 * decrypted_n / sent_n);
  }
  std::printf ("dave decrypted alice and bob %.1f s after his process started\n", join_seconds);
}

/* A publisher in the Janus room whose key id belongs to no roster member
 * (a static key the room does not know) is shown as unverified, and
 * nothing of it is decrypted. */
TEST_F (JanusRoom, APublisherWithAKeyNoRosterMemberOwnsIsShownUnverified)
{
  Member & alice = start_member ("alice", member_line ("alice"));
  start_member ("intruder", intruder_line ());
  ASSERT_TRUE (wait_for ([&] {
    for (const auto & t : latest_tiles (alice))
      if (t.media == "video" && !t.verified && t.label.find ("unverified") == 0)
        return true;
    return false;
  }, 45)) << describe (alice) << describe (*members_[1]);
  for (const auto & t : latest_tiles (alice)) {
    EXPECT_FALSE (t.verified) << t.label;
    EXPECT_NE (t.state, "decrypting") << t.label;
  }
  EXPECT_EQ (at (tile_series (alice, "", "video", "frames"), wall_now_ms ()), 0);
}

/* The SFU sees only ciphertext. Janus records the room on its side (its
 * own "record" option) while alice publishes under the room's keys and a
 * control publisher sends the same kind of media unencrypted. No piece of
 * alice's encoded frames (beyond the clear codec header) is in her
 * recording, and decoding it (janus-pp-rec, then GStreamer) gives neither
 * the source picture nor the source tone; the same checks find the
 * control's frames, picture and tone in its recording, so each of them
 * can fail. */
TEST_F (JanusRoom, JanusRecordsOnlyCiphertext)
{
  const uint64_t janus_room = 7700123;
  std::string recordings = janus_.recordings_dir ();
  {
    JanusConnection c (janus_.ws_url ());
    ASSERT_TRUE (c.connected ()) << c.error ();
    Handle h = attach_videoroom (c);
    ASSERT_NE (h.handle, 0u) << janus_.log ();
    janus::videoroom::RoomOptions options;
    options.room = janus_room;
    options.admin_key = JanusServer::kAdminKey;
    options.record = true;
    options.rec_dir = recordings;
    janus::Reply created = videoroom (c, h, janus::videoroom::create_room (options));
    ASSERT_EQ (created.kind, janus::Kind::success) << created.error << "\n" << janus_.log ();
  }
  std::string frames = dir_.path () + "/frames";
  g_mkdir_with_parents (frames.c_str (), 0700);
  /* Every encoded frame is also written, before encryption, as the
   * plaintext reference. */
  auto publisher = [&] (const std::string & name, const std::string & protect_video,
                       const std::string & protect_audio, const std::string & video_pay) {
    return "janusroomsink name=pub room=" + std::string (kRoom) + " janus-room=" + std::to_string (janus_room) +
        " display=" + name + " server=" + janus_.ws_url () + " local-address=" + kMemberAddress +
        " stats-interval=250" +
        " videotestsrc is-live=true pattern=smpte100 ! video/x-raw,width=320,height=180,framerate=30/1"
        " ! vp8enc deadline=1 keyframe-max-dist=30 ! tee name=vt ! queue ! " + protect_video + video_pay +
        " ! pub. vt. ! queue ! multifilesink location=" + frames + "/" + name + "-video-%05d" +
        " audiotestsrc is-live=true freq=440 ! opusenc ! tee name=at ! queue ! " + protect_audio +
        "rtpopuspay ! pub. at. ! queue ! multifilesink location=" + frames + "/" + name + "-audio-%05d";
  };
  const Device & d = device ("alice");
  std::string encrypt = "sframeenc room=" + std::string (kRoom) + " ! ";
  Member & alice = start_member ("alice", "keymanager room=" + std::string (kRoom) + " bus=" + nats_.url (0) +
      " identity=" + d.key_path + " token-file=" + d.token_path + " authority=" + credentials_.authority_path + " " +
      publisher ("alice", encrypt, encrypt, "rtpvp8sframepay"));
  Member & control = start_member ("control", publisher ("control", "", "", "rtpvp8pay"));
  auto sent = [&] (Member & m) { return at (sent_series (m, "video"), wall_now_ms ()); };
  ASSERT_TRUE (wait_for ([&] { return sent (alice) > 240 && sent (control) > 240; }, 60))
      << describe (alice) << describe (control);
  uint64_t alice_id = latest_counter (alice, "pub", "janus-room-sink-stats", "publisher-id");
  uint64_t control_id = latest_counter (control, "pub", "janus-room-sink-stats", "publisher-id");
  ASSERT_NE (alice_id, 0u);
  ASSERT_NE (control_id, 0u);
  for (auto & m : members_)
    m->stop ();
  /* Janus closes its recordings on the way out. */
  janus_.stop ();

  struct Recording {
    std::string video, audio;
  };
  auto recording_of = [&] (uint64_t id) {
    Recording r;
    std::error_code ec;
    for (const auto & entry : std::filesystem::directory_iterator (recordings, ec)) {
      std::string name = entry.path ().filename ().string ();
      if (name.find ("-" + std::to_string (id) + "-") == std::string::npos)
        continue;
      if (name.find ("-video-") != std::string::npos)
        r.video = entry.path ().string ();
      if (name.find ("-audio-") != std::string::npos)
        r.audio = entry.path ().string ();
    }
    return r;
  };
  Recording alice_rec = recording_of (alice_id), control_rec = recording_of (control_id);
  ASSERT_FALSE (alice_rec.video.empty () || alice_rec.audio.empty () || control_rec.video.empty () ||
      control_rec.audio.empty ()) << "recordings: " << list_dir (recordings) << "\n" << janus_.log ();

  /* Janus 1.1.2 makes a publisher's recorders before it reads the offer's
   * "e2ee" flag, so the .mjr headers do not say "e": true and janus-pp-rec
   * converts them as if they were clear: what follows is what it gives. */
  /* No piece of alice's encrypted frame bodies is in her recording; the
   * control's are in its own. */
  for (const char *media : {"video", "audio"}) {
    size_t clear = std::string (media) == "video" ? 10 : 1;
    bool video = std::string (media) == "video";
    ChunkSearch a = find_frame_chunks (read_files (frames, std::string ("alice-") + media),
        clear, read_file (video ? alice_rec.video : alice_rec.audio));
    ChunkSearch c = find_frame_chunks (read_files (frames, std::string ("control-") + media),
        clear, read_file (video ? control_rec.video : control_rec.audio));
    std::printf ("%s: %zu of %zu pieces of alice's frames in her recording; %zu of %zu of the control's\n", media,
        a.found, a.chunks, c.found, c.chunks);
    ASSERT_GT (a.chunks, 300u) << media;
    EXPECT_EQ (a.found, 0u) << media;
    EXPECT_GT (c.fraction (), 0.9) << media;
  }

  /* Decoded, alice's recording is neither the source picture nor the
   * source tone. */
  Bytes source = pull_all ("videotestsrc num-buffers=1 pattern=smpte100 ! video/x-raw,width=320,height=180"
      " ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=out sync=false", nullptr).at (0);
  /* What janus-pp-rec and the decoder said, for the record. */
  auto convert = [&] (const std::string & mjr, const std::string & target) {
    int status = run_program ({"janus-pp-rec", mjr, target});
    std::printf ("janus-pp-rec %s: exit status %d, %zu bytes\n", std::filesystem::path (target).filename ().c_str (),
        status, read_file (target).size ());
  };
  auto best_picture = [&] (const std::string & mjr, size_t * count) {
    std::string webm = mjr + ".webm", note;
    convert (mjr, webm);
    auto pictures = pull_all ("filesrc location=" + webm + " ! matroskademux ! vp8dec ! videoconvert"
        " ! videoscale ! video/x-raw,format=GRAY8,width=320,height=180 ! appsink name=out sync=false", &note);
    if (!note.empty ())
      std::printf ("decoding %s: %s\n", webm.c_str (), note.c_str ());
    double best = 0;
    for (const auto & p : pictures)
      best = std::max (best, psnr (p, source));
    *count = pictures.size ();
    return best;
  };
  auto tone = [&] (const std::string & mjr, size_t * count) {
    std::string opus = mjr + ".opus", note;
    convert (mjr, opus);
    auto buffers = pull_all ("filesrc location=" + opus + " ! oggdemux ! opusdec ! audioconvert ! audioresample"
        " ! audio/x-raw,format=F32LE,channels=1,rate=48000 ! appsink name=out sync=false", &note);
    std::vector<float> samples;
    for (const auto & b : buffers) {
      const float *f = reinterpret_cast<const float *> (b.data ());
      samples.insert (samples.end (), f, f + b.size () / sizeof (float));
    }
    if (!note.empty ())
      std::printf ("decoding %s: %s\n", opus.c_str (), note.c_str ());
    *count = samples.size ();
    return tone_fraction (samples, 48000, 440);
  };
  size_t alice_pictures = 0, control_pictures = 0, alice_samples = 0, control_samples = 0;
  double alice_psnr = best_picture (alice_rec.video, &alice_pictures);
  double control_psnr = best_picture (control_rec.video, &control_pictures);
  double alice_tone = tone (alice_rec.audio, &alice_samples);
  double control_tone = tone (control_rec.audio, &control_samples);
  std::printf ("video: best PSNR against the source %.1f dB over %zu pictures of alice's recording, "
      "%.1f dB over %zu of the control's\n", alice_psnr, alice_pictures, control_psnr, control_pictures);
  std::printf ("audio: 440 Hz share %.3f over %zu samples of alice's recording, %.3f over %zu of the control's\n",
      alice_tone, alice_samples, control_tone, control_samples);
  EXPECT_GT (control_pictures, 100u);
  EXPECT_GT (control_psnr, 30);
  EXPECT_LT (alice_psnr, 12);
  EXPECT_GT (control_samples, 48000u * 3);
  EXPECT_GT (control_tone, 0.9);
  EXPECT_LT (alice_tone, 0.1);
}

/* Janus relays keyframe requests and reads the clear codec bytes of
 * encrypted frames: alice sends VP8 and bob H.264 from encoders that make
 * a key frame only when asked (after their first), so dave, who
 * subscribes seconds later, gets a picture only when his request reaches
 * them through Janus. Both janusroomsinks count the requests. */
TEST_F (JanusRoom, ALateSubscriberGetsAPictureFromEncryptedVp8AndH264)
{
  /* Janus logs the key frames it finds in the clear bytes at level 6. */
  janus_.stop ();
  janus_.set_debug_level (6);
  std::string error;
  ASSERT_TRUE (janus_.start (&error)) << error;
  auto publisher = [&] (const std::string & name, const std::string & encode, const std::string & pay) {
    const Device & d = device (name);
    return "keymanager room=" + std::string (kRoom) + " bus=" + nats_.url (0) + " identity=" + d.key_path +
        " token-file=" + d.token_path + " authority=" + credentials_.authority_path +
        " janusroomsink name=pub room=" + kRoom + " server=" + janus_.ws_url () + " admin-key=" +
        JanusServer::kAdminKey + " local-address=" + kMemberAddress + " stats-interval=250" +
        " videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,framerate=30/1 ! " + encode +
        " ! sframeenc room=" + kRoom + " ! " + pay + " ! pub.";
  };
  Member & alice = start_member ("alice", publisher ("alice", "vp8enc deadline=1 keyframe-mode=disabled",
      "rtpvp8sframepay"));
  Member & bob = start_member ("bob", publisher ("bob",
      "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=1000000 option-string=scenecut=0"
      " ! video/x-h264,profile=constrained-baseline", "rtph264pay"));
  auto sent = [&] (Member & m) { return at (sent_series (m, "video"), wall_now_ms ()); };
  /* Well past the encoders' first key frames. */
  ASSERT_TRUE (wait_for ([&] { return sent (alice) > 150 && sent (bob) > 150; }, 60))
      << describe (alice) << describe (bob);
  auto requests = [&] (Member & m) {
    return latest_counter_in (m, "pub", "janus-room-sink-stats", "input-counters", "key-frame-requests");
  };
  guint64 alice_before = requests (alice), bob_before = requests (bob);

  const Device & d = device ("dave");
  auto dave_started = Clock::now ();
  Member & dave = start_member ("dave", "keymanager room=" + std::string (kRoom) + " bus=" + nats_.url (0) +
      " identity=" + d.key_path + " token-file=" + d.token_path + " authority=" + credentials_.authority_path +
      " janusroomsrc name=sub room=" + kRoom + " server=" + janus_.ws_url () + " local-address=" +
      kMemberAddress + " width=320 height=180 stats-interval=250" +
      " sub.video ! fakesink sync=false sub.audio ! fakesink sync=false");
  std::map<std::string, double> first_picture;
  ASSERT_TRUE (wait_for ([&] {
    for (const char *sender : {"alice", "bob"})
      if (!first_picture.count (sender) && at (tile_series (dave, sender, "video", "decoded"), wall_now_ms ()) > 0)
        first_picture[sender] = std::chrono::duration<double> (Clock::now () - dave_started).count ();
    return first_picture.size () == 2;
  }, 45)) << describe (dave) << describe (alice) << describe (bob);
  EXPECT_GT (requests (alice), alice_before) << describe (alice);
  EXPECT_GT (requests (bob), bob_before) << describe (bob);
  std::printf ("dave's first picture: alice (VP8) %.1f s, bob (H.264) %.1f s after his process started; "
      "key frame requests: alice %" G_GUINT64_FORMAT ", bob %" G_GUINT64_FORMAT "\n", first_picture["alice"],
      first_picture["bob"], requests (alice) - alice_before, requests (bob) - bob_before);
  /* Janus found the key frames by reading the clear bytes: the VP8 frame
   * size from the frame header, the H.264 NAL types. */
  std::string log = janus_.log ();
  EXPECT_NE (log.find ("Got a VP8 key frame: 320x180"), std::string::npos);
  EXPECT_NE (log.find ("Got an H264 key frame"), std::string::npos);
  /* They keep coming: the decoders were not fed garbage. */
  std::this_thread::sleep_for (std::chrono::seconds (2));
  for (const char *sender : {"alice", "bob"}) {
    Series decoded = tile_series (dave, sender, "video", "decoded");
    EXPECT_GT (at (decoded, wall_now_ms ()) - at (decoded, wall_now_ms () - 1500), 20) << sender << describe (dave);
  }
}

/* An application that plugs its own chains: janusroomsrc decode=false
 * gives bob one RTP pad per track of alice's, named after her publisher
 * id, and bob links each to depayloader ! sframedec ! decoder by its caps
 * and decodes both. Who sends each track comes from the signed roster,
 * twice: in the pad's janus-room-track event (janusroomsrc decrypts a copy)
 * and from bob's own sframedecs (sframe-sender). Two impostors, one under
 * a key no roster member owns and one claiming alice's key id, get pads
 * too, and are never named. */
TEST_F (JanusRoom, RawModeGivesApplicationsOnePadPerTrack)
{
  const char *program = std::getenv ("SFRAME_RAW_ROOM_MEMBER");
  if (!program)
    GTEST_SKIP () << "SFRAME_RAW_ROOM_MEMBER is not set (meson test sets it)";
  Member & alice = start_member ("alice", member_line ("alice"));
  Member & intruder = start_member ("intruder", intruder_line ());
  const Device & d = device ("bob");
  Member & bob = members_.emplace_back (std::make_unique<Member> ("bob", dir_.path () + "/bob.log")).operator* ();
  std::string error;
  ASSERT_TRUE (bob.start_program (std::string (program) + " --room " + kRoom + " --server " + janus_.ws_url () +
      " --address " + kMemberAddress + " --bus " + nats_.url (0) + " --identity " + d.key_path + " --token-file " +
      d.token_path + " --authority " + credentials_.authority_path + " --width 320 --height 180", &error)) << error;
  /* Both of alice's tracks decode in bob's own chains. */
  auto decoding = [&] {
    auto reports = bob.lines ("tracks=");
    return reports.empty () ? std::string () : reports.back ();
  };
  ASSERT_TRUE (wait_for ([&] { return decoding ().find ("decoding=2") != std::string::npos; }, 60))
      << decoding () << "\n" << bob.log_tail () << describe (alice);
  std::string alice_id = std::to_string (latest_counter (alice, "pub", "janus-room-sink-stats", "publisher-id"));
  std::string alice_feed = " feed=" + alice_id + " ";
  std::string intruder_feed = " feed=" + std::to_string (latest_counter (intruder, "pub", "janus-room-sink-stats",
      "publisher-id")) + " ";
  /* bob's last report of janusroomsrc's tiles. */
  auto latest_tile_lines = [&] {
    std::vector<std::string> tiles;
    for (const auto & line : bob.lines ("")) {
      if (line.rfind ("tracks=", 0) == 0)
        tiles.clear ();
      else if (line.rfind ("tile ", 0) == 0)
        tiles.push_back (line);
    }
    return tiles;
  };
  auto media_of = [] (const std::string & line) { return line.substr (line.find (" media=") + 7, 5); };
  /* The media of the lines starting with `prefix`, with `feed`, holding `text`. */
  auto media_with = [&] (const std::string & prefix, const std::string & feed, const std::string & text) {
    std::set<std::string> media;
    for (const auto & line : bob.lines (prefix))
      if (line.find (feed) != std::string::npos && line.find (text) != std::string::npos)
        media.insert (media_of (line));
    return media;
  };
  const std::set<std::string> both {"video", "audio"};
  for (const auto & line : bob.lines ("track ")) {
    if (line.find (alice_feed) != std::string::npos) {
      EXPECT_NE (line.find ("pad=src_" + alice_id + "_"), std::string::npos) << line;
    }
  }
  EXPECT_EQ (media_with ("track ", alice_feed, ""), both);
  /* Named from the roster on janusroomsrc's pads and by bob's sframedecs. */
  ASSERT_TRUE (wait_for ([&] { return media_with ("member ", alice_feed, " verified=1 name=alice") == both; }, 20))
      << bob.log_tail ();
  EXPECT_EQ (media_with ("sender ", alice_feed, " verified=1 name=alice"), both) << bob.log_tail ();
  /* Two impostors. The intruder sends under a key the room does not know;
   * the forger claims alice's video key id in its frames' headers. Each
   * track reaches bob and janusroomsrc tries its frames (unknown key;
   * authentication fails under alice's key), and neither pad ever names
   * anyone: the forger's shows the claimed key id as unverified, failing. */
  std::string alice_video_key;
  for (const auto & line : bob.lines ("member "))
    if (line.find (alice_feed) != std::string::npos && line.find (" media=video") != std::string::npos &&
        line.find (" verified=1 ") != std::string::npos)
      alice_video_key = line.substr (line.find (" key-id=") + 8, line.find (" state=") - line.find (" key-id=") - 8);
  ASSERT_FALSE (alice_video_key.empty () || alice_video_key == "none") << bob.log_tail ();
  const uint64_t claimed = std::stoull (alice_video_key);
  OwnPipeline forger;
  ASSERT_NO_FATAL_FAILURE (start_forger (&claimed, &forger));
  guint64 forger_id = 0;
  ASSERT_TRUE (wait_for ([&] {
    GstElement *pub = gst_bin_get_by_name (GST_BIN (forger.pipeline), "pub");
    g_object_get (pub, "publisher-id", &forger_id, nullptr);
    gst_object_unref (pub);
    return forger_id != 0;
  }, 20));
  std::string forger_feed = " feed=" + std::to_string (forger_id) + " ";
  auto tried = [&] (const std::string & feed, const std::string & untried) {
    for (const auto & line : latest_tile_lines ())
      if (line.find (feed) != std::string::npos)
        return line.find (untried) == std::string::npos;
    return false;
  };
  ASSERT_TRUE (wait_for ([&] { return tried (intruder_feed, " unknown-key=0") && tried (forger_feed, " auth-failures=0"); },
      30)) << bob.log_tail () << describe (intruder);
  ASSERT_TRUE (wait_for ([&] {
    return !media_with ("member ", forger_feed, " key-id=" + alice_video_key + " state=failing").empty ();
  }, 10)) << bob.log_tail ();
  for (const std::string & feed : {intruder_feed, forger_feed}) {
    EXPECT_EQ (media_with ("member ", feed, ""), std::set<std::string> {"video"}) << feed << bob.log_tail ();
    EXPECT_EQ (media_with ("member ", feed, " verified=0 name= key-id="), std::set<std::string> {"video"}) << feed;
    EXPECT_TRUE (media_with ("member ", feed, " verified=1").empty ()) << feed << bob.log_tail ();
    EXPECT_TRUE (media_with ("member ", feed, "name=alice").empty ()) << feed << bob.log_tail ();
    EXPECT_TRUE (media_with ("tile ", feed, " verified=1").empty ()) << feed << bob.log_tail ();
    std::size_t named = 0;
    for (const auto & line : bob.lines ("member "))
      named += line.find (feed) != std::string::npos && line.find (" verified=0 name= key-id=") == std::string::npos;
    EXPECT_EQ (named, 0u) << feed << bob.log_tail ();
  }
  std::this_thread::sleep_for (std::chrono::seconds (2));
  EXPECT_NE (decoding ().find ("decoding=2"), std::string::npos) << decoding ();
  std::printf ("bob's own chains: %s\n", decoding ().c_str ());
  for (const auto & line : latest_tile_lines ())
    std::printf ("bob's janusroomsrc: %s\n", line.c_str ());

  /* The launch line below links the first VP8 pad: alice's only. */
  intruder.stop ();
  gst_element_set_state (forger.pipeline, GST_STATE_NULL);
  ASSERT_TRUE (wait_for ([&] {
    for (const auto & line : latest_tile_lines ())
      if (line.find (intruder_feed) != std::string::npos || line.find (forger_feed) != std::string::npos)
        return false;
    return true;
  }, 20)) << bob.log_tail ();

  /* In one launch line too: each track pad answers a caps query with its
   * RTP caps, so gst-launch-1.0 links the VP8 pad to the VP8 chain and the
   * Opus pad to the Opus chain. */
  const Device & c = device ("carol");
  Member & carol = start_member ("carol", "-v keymanager room=" + std::string (kRoom) + " bus=" + nats_.url (0) +
      " identity=" + c.key_path + " token-file=" + c.token_path + " authority=" + credentials_.authority_path +
      " janusroomsrc name=sub decode=false room=" + kRoom + " server=" + janus_.ws_url () + " local-address=" +
      kMemberAddress + " sub. ! rtpvp8depay ! sframedec room=" + kRoom + " ! vp8dec ! fakesink name=video silent=false"
      " sub. ! rtpopusdepay ! sframedec room=" + kRoom + " ! opusdec ! fakesink name=audio silent=false");
  auto decoded = [&] (const char *sink) {
    return carol.lines ("/GstPipeline:pipeline0/GstFakeSink:" + std::string (sink) + ": last-message = chain").size ();
  };
  ASSERT_TRUE (wait_for ([&] { return decoded ("video") > 30 && decoded ("audio") > 30; }, 60))
      << carol.log_tail ();
  std::printf ("carol's launch line decoded %zu video and %zu audio frames of alice's\n", decoded ("video"),
      decoded ("audio"));
}

/* keymanager over local:// (an in-process bus): two members as two
 * pipelines in this one process, each one launch line, meet through
 * Janus and decrypt each other. */
TEST_F (JanusRoom, MembersOverTheInProcessBusMeetThroughJanus)
{
  std::string bus = "local://janus-room-" + std::to_string (getpid ());
  auto pipeline = [&] (const std::string & name) {
    std::string line = member_line (name);
    size_t at = line.find (" bus=") + 5;
    line.replace (at, line.find (' ', at) - at, bus);
    GError *error = nullptr;
    GstElement *p = gst_parse_launch (line.c_str (), &error);
    EXPECT_TRUE (p) << (error ? error->message : "");
    g_clear_error (&error);
    return p;
  };
  GstElement *alice = pipeline ("alice"), *bob = pipeline ("bob");
  ASSERT_TRUE (alice && bob);
  gst_element_set_state (alice, GST_STATE_PLAYING);
  gst_element_set_state (bob, GST_STATE_PLAYING);
  /* What `member`'s janusroomsrc says of `other`'s video. */
  auto tile = [] (GstElement * member, const std::string & other, guint64 * frames) {
    GstElement *sub = gst_bin_get_by_name (GST_BIN (member), "sub");
    GstStructure *stats = nullptr;
    g_object_get (sub, "stats", &stats, nullptr);
    gst_object_unref (sub);
    std::string state;
    const GValue *tiles = stats ? gst_structure_get_value (stats, "tiles") : nullptr;
    for (guint i = 0; tiles && i < gst_value_list_get_size (tiles); i++) {
      const GstStructure *t = gst_value_get_structure (gst_value_list_get_value (tiles, i));
      const gchar *name = gst_structure_get_string (t, "name");
      const gchar *media = gst_structure_get_string (t, "media");
      gboolean verified = FALSE;
      gst_structure_get_boolean (t, "verified", &verified);
      if (name && other == name && media && g_str_equal (media, "video") && verified) {
        state = gst_structure_get_string (t, "state");
        gst_structure_get_uint64 (t, "frames", frames);
      }
    }
    if (stats)
      gst_structure_free (stats);
    return state;
  };
  guint64 alice_frames = 0, bob_frames = 0;
  bool met = wait_for ([&] {
    return tile (alice, "bob", &bob_frames) == "decrypting" && tile (bob, "alice", &alice_frames) == "decrypting";
  }, 60);
  guint64 alice_before = alice_frames, bob_before = bob_frames;
  std::this_thread::sleep_for (std::chrono::seconds (2));
  tile (alice, "bob", &bob_frames);
  tile (bob, "alice", &alice_frames);
  gst_element_set_state (alice, GST_STATE_NULL);
  gst_element_set_state (bob, GST_STATE_NULL);
  gst_object_unref (alice);
  gst_object_unref (bob);
  ASSERT_TRUE (met) << "alice's and bob's tiles never both said decrypting";
  /* 2 s of 30 fps video each way. */
  EXPECT_GT (alice_frames - alice_before, 40u);
  EXPECT_GT (bob_frames - bob_before, 40u);
  std::printf ("over local://: bob decrypted %" G_GUINT64_FORMAT " and alice %" G_GUINT64_FORMAT
      " of each other's video frames in 2 s\n", alice_frames - alice_before, bob_frames - bob_before);
}

/* Janus killed mid-meeting and started again on the same port: both
 * members reconnect, republish, resubscribe, and decrypt each other
 * again. The time it takes is printed (docs/rooms.md has the figure). */
TEST_F (JanusRoom, MembersReconnectWhenJanusRestarts)
{
  Member & alice = start_member ("alice", member_line ("alice"));
  Member & bob = start_member ("bob", member_line ("bob"));
  ASSERT_TRUE (wait_for ([&] { return sees_everyone (alice, {"bob"}) && sees_everyone (bob, {"alice"}); }, 60))
      << describe (alice) << describe (bob);
  janus_.stop (true);
  auto killed = Clock::now ();
  std::string error;
  ASSERT_TRUE (janus_.restart (&error)) << error;
  /* Decrypting again means frames that arrived after the restart. */
  auto fresh = [&] (Member & m, const std::string & other) {
    Series s = tile_series (m, other, "video", "frames");
    return !s.empty () && s.back ().first > wall_now_ms () - 1000 && sees_everyone (m, {other}) &&
        at (s, wall_now_ms () - 600) < s.back ().second;
  };
  std::this_thread::sleep_for (std::chrono::seconds (1));
  ASSERT_TRUE (wait_for ([&] { return fresh (alice, "bob") && fresh (bob, "alice"); }, 45))
      << describe (alice) << describe (bob);
  double seconds = std::chrono::duration<double> (Clock::now () - killed).count ();
  std::printf ("media resumed %.1f s after Janus was killed\n", seconds);
  for (auto & m : members_)
    EXPECT_TRUE (m->running ()) << describe (*m);
}

}  // namespace

int
main (int argc, char **argv)
{
  /* Before any thread: unshare works on a single-threaded process. */
  if (!enter_media_namespace (&g_namespace_error) && g_namespace_error.empty ())
    g_namespace_error = "unknown";
  gst_init (&argc, &argv);
  ::testing::InitGoogleTest (&argc, argv);
  return RUN_ALL_TESTS ();
}
