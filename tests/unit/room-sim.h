/* A simulated room for the key protocol: members (real KeyProviders with
 * real keys in real KeyRings) on a simulated bus with latency and a
 * simulated clock, so whole meetings run in milliseconds and every test is
 * deterministic. The bus can be hostile: an interceptor sees every message
 * and may modify or drop it, tests may inject any message, and the log
 * keeps everything that crossed it. Shared by the unit tests and the
 * provider benchmark (tests/bench/provider-bench.cc). */
#pragma once

#include <gst/sframe/core/base64url.h>
#include <gst/sframe/core/cipher.h>
#include <gst/sframe/keys/hpke.h>
#include <gst/sframe/keys/key-provider.h>
#include <gst/sframe/core/keyring.h>
#include <gst/sframe/keys/room-wire.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace roomsim {

/* keymanager's worker ticks at most this long after messages. */
constexpr int64_t kTickGapMs = 10;

using namespace sframe;
using namespace sframe::room;

struct BusMessage {
  std::string subject;
  std::vector<uint8_t> payload;
};

class Sim;

struct Member : KeyProviderOutputs {
  std::string name;
  Identity identity;
  std::string token;
  token::Role role = token::Role::member;
  uint32_t grants = token::kDefaultGrants;
  std::unique_ptr<KeyProvider> provider;
  KeyRing ring;
  std::vector<std::vector<uint8_t>> ever_held;       /* every key ever installed */
  std::map<uint64_t, std::string> key_owners;         /* received key id -> whose, as installed */
  std::set<uint64_t> own_key_ids;                     /* every key id we sent under */
  std::vector<uint64_t> sender_history;
  std::vector<RosterView> rosters;
  std::vector<std::tuple<std::string, Refusal, std::string>> refusals;
  std::vector<std::pair<uint64_t, std::string>> rotations;
  std::string left_reason;
  std::set<std::string> subjects;
  int64_t next_tick = 0;
  bool active = false;
  Sim *sim = nullptr;

  std::string fingerprint () const { return identity.fingerprint (); }
  RosterView roster () const { return provider ? provider->roster () : RosterView (); }
  bool has_sender () const { uint64_t id; return ring.sender_key_id (&id); }
  uint64_t sender_id () const { uint64_t id = 0; ring.sender_key_id (&id); return id; }
  bool refused (const std::string & fp, Refusal reason) const
  {
    for (const auto & r : refusals)
      if (std::get<0> (r) == fp && std::get<1> (r) == reason)
        return true;
    return false;
  }

  void publish (const std::string & subject, const std::vector<uint8_t> & payload) override;
  void install_key (uint64_t key_id, const SecureBytes & key, const MemberInfo & owner) override
  {
    ring.add_key (CipherSuite::aes_128_gcm_sha256_128, key_id, key.view ());
    ever_held.emplace_back (key.data (), key.data () + key.size ());
    key_owners[key_id] = owner.fingerprint;
  }
  void install_own_key (uint64_t key_id, const SecureBytes & key) override
  {
    ring.add_own_key (CipherSuite::aes_128_gcm_sha256_128, key_id, key.view ());
    ever_held.emplace_back (key.data (), key.data () + key.size ());
    own_key_ids.insert (key_id);
  }
  void remove_key (uint64_t key_id) override { ring.remove_key (key_id); }
  void set_sender_key (uint64_t key_id) override
  {
    ring.set_sender (key_id);
    sender_history.push_back (key_id);
  }
  void clear_sender_key () override { ring.clear_sender (); }
  void roster_changed (RosterView roster) override { rosters.push_back (std::move (roster)); }
  void member_refused (const std::string & who, Refusal reason, const std::string & detail) override
  {
    refusals.emplace_back (who, reason, detail);
  }
  void key_rotated (uint64_t key_id, const std::string & reason) override { rotations.push_back ({ key_id, reason }); }
  void left (const std::string & reason) override { left_reason = reason; }
};

enum class Verdict { deliver, drop };

class Sim {
public:
  explicit Sim (std::string room = "board", bool require_admission = false)
      : room_ (std::move (room)), require_admission_ (require_admission)
  {
    Identity::generate (&authority);
    timing.discovery_ms = 100;
    timing.resend_ms = 200;
    timing.heartbeat_ms = 500;
    timing.liveness_ms = 3000;
    timing.switch_timeout_ms = 1000;
    timing.grace_ms = 2000;
  }

  Now now () const { return { now_ms, kUnixStart + now_ms / 1000 }; }
  const std::string & room () const { return room_; }

  std::string issue (const Identity & device, token::Role role, uint32_t grants = token::kDefaultGrants,
      const std::string & room = "", const Identity * signer = nullptr, int64_t issued_at = -1, int64_t lifetime = 300)
  {
    token::IssueRequest request;
    request.room = room.empty () ? room_ : room;
    request.member_id = device.short_fingerprint ();
    request.display_name = "member " + device.short_fingerprint ().substr (0, 4);
    request.role = role;
    request.device_public_key = device.public_key ();
    request.grants = grants;
    request.lifetime = lifetime;
    std::string token;
    token::issue (signer ? *signer : authority, request, issued_at < 0 ? now ().unix_s : issued_at, &token);
    return token;
  }

  /* A member with a fresh identity and token; started at once unless asked. */
  Member & add (const std::string & name, token::Role role = token::Role::member,
      uint32_t grants = token::kDefaultGrants, bool start = true)
  {
    auto member = std::make_unique<Member> ();
    member->name = name;
    member->sim = this;
    Identity::generate (&member->identity);
    member->role = role;
    member->grants = grants;
    member->token = issue (member->identity, role, grants);
    members_.push_back (std::move (member));
    Member & m = *members_.back ();
    if (start)
      this->start (m);
    return m;
  }

  /* (Re)starts `m` with its identity and token: a new session. */
  bool start (Member & m)
  {
    Config config;
    config.room = room_;
    config.identity = m.identity;
    config.token = m.token;
    config.authority = authority.public_key ();
    config.require_admission = require_admission_;
    config.timing = timing;
    Result made = make_sender_key_provider (config, &m, now (), &m.provider);
    last_error = made.message;
    if (!made.ok ())
      return false;
    m.subjects.clear ();
    for (const auto & s : m.provider->subjects ()) {
      m.subjects.insert (s);
      auto & listeners = by_subject_[s];
      if (std::find (listeners.begin (), listeners.end (), &m) == listeners.end ())
        listeners.push_back (&m);
    }
    m.active = true;
    m.provider->start (now ());
    m.next_tick = now_ms;
    return true;
  }

  /* Gives every running member a fresh token each `period_ms`, as an
   * application keeping a long meeting alive does (tokens live 300 s). */
  void renew_tokens_every (int64_t period_ms)
  {
    if (now_ms % period_ms != 0)
      return;
    for (auto & m : members_) {
      if (!m->active)
        continue;
      m->token = issue (m->identity, m->role, m->grants);
      m->provider->renew_token (m->token, now ());
    }
  }

  void stop (Member & m, bool clean = true)
  {
    if (clean && m.provider)
      m.provider->leave (now ());
    m.active = false;
  }

  void publish (const std::string & subject, const std::vector<uint8_t> & payload)
  {
    log.push_back ({ subject, payload });
    BusMessage message { subject, payload };
    if (interceptor && interceptor (message) == Verdict::drop)
      return;
    queue_.push ({ now_ms + latency_ms, order_++, std::move (message) });
  }

  void inject (const BusMessage & message) { queue_.push ({ now_ms + latency_ms, order_++, message }); }

  /* One simulated millisecond: deliver what is due, run due timers. */
  void step ()
  {
    now_ms++;
    while (!queue_.empty () && queue_.top ().at <= now_ms) {
      InFlight f = queue_.top ();
      queue_.pop ();
      delivered++;
      /* Only the members that subscribe: asking every member, with a
       * string compare each, was a fifth of a simulated leave at N = 200. */
      static const std::vector<Member *> kNobody;
      auto listeners = by_subject_.find (f.message.subject);
      for (Member *m : listeners == by_subject_.end () ? kNobody : listeners->second)
        if (m->active && m->subjects.count (f.message.subject) && (!reaches || reaches (f.message, *m))) {
          m->provider->receive (f.message.subject, ByteView (f.message.payload), now ());
          /* As keymanager's worker: a tick at most kTickGapMs after
           * messages, which may have moved a timer earlier. */
          m->next_tick = std::min (m->next_tick, now_ms + kTickGapMs);
        }
      if (on_delivered)
        on_delivered (f.message);
    }
    for (auto & m : members_)
      if (m->active && now_ms >= m->next_tick)
        m->next_tick = m->provider->tick (now ());
    if (on_step)
      on_step ();
  }

  void run_for (int64_t ms)
  {
    for (int64_t i = 0; i < ms; i++)
      step ();
  }

  bool run_until (const std::function<bool ()> & done, int64_t max_ms = 20000)
  {
    for (int64_t i = 0; i < max_ms; i++) {
      if (done ())
        return true;
      step ();
    }
    return done ();
  }

  /* Runs until `group` shares one roster and every key (true), or the time
   * is up (false). */
  bool run_until_formed (const std::vector<Member *> & group, int64_t max_ms = 20000)
  {
    return run_until ([&] { return converged (group) && keys_delivered (group); }, max_ms);
  }

  /* True when every listed member holds the same roster of exactly them. */
  bool converged (const std::vector<Member *> & group) const
  {
    std::string code;
    for (const Member *m : group) {
      RosterView r = m->roster ();
      if (r.members.size () != group.size ())
        return false;
      if (!code.empty () && r.security_code != code)
        return false;
      code = r.security_code;
    }
    return true;
  }

  /* True when every member of `group` holds the current sender key of every
   * other member (so the others' media decrypts there). */
  bool keys_delivered (const std::vector<Member *> & group) const
  {
    for (const Member *sender : group) {
      if (!sender->has_sender ())
        return false;
      auto key = sender->ring.find (sender->sender_id ());
      for (const Member *receiver : group)
        if (receiver != sender && !receiver->ring.find (sender->sender_id ()))
          return false;
      (void) key;
    }
    return true;
  }

  Identity authority;
  Timing timing;
  int64_t now_ms = 0;
  int64_t latency_ms = 2;
  std::vector<BusMessage> log;
  std::function<Verdict (BusMessage &)> interceptor;
  /* Whether a message reaches a member (unset: all do): a partition. */
  std::function<bool (const BusMessage &, const Member &)> reaches;
  std::function<void (const BusMessage &)> on_delivered;
  std::function<void ()> on_step;
  uint64_t delivered = 0;
  std::string last_error;

  static constexpr int64_t kUnixStart = 1800000000;

private:
  struct InFlight {
    int64_t at;
    uint64_t order;
    BusMessage message;
    bool operator< (const InFlight & other) const
    {
      return std::tie (at, order) > std::tie (other.at, other.order);
    }
  };

  std::string room_;
  bool require_admission_;
  std::vector<std::unique_ptr<Member>> members_;
  std::unordered_map<std::string, std::vector<Member *>> by_subject_;   /* in start order */
  std::priority_queue<InFlight> queue_;
  uint64_t order_ = 0;
};

inline void
Member::publish (const std::string & subject, const std::vector<uint8_t> & payload)
{
  sim->publish (subject, payload);
}

/* SFrame-encrypts a frame with the sender key of `m`'s ring. */
inline std::vector<uint8_t>
encrypt_frame (const Member & m, const std::vector<uint8_t> & frame)
{
  Encryptor encryptor (m.ring);
  std::vector<uint8_t> out (frame.size () + 64);
  size_t written = 0;
  if (encryptor.encrypt (nullptr, ByteView (), ByteView (frame), MutableByteView (out.data (), out.size ()), &written) !=
      Status::ok)
    return {};
  out.resize (written);
  return out;
}

inline bool
decrypts (KeyRing & ring, const std::vector<uint8_t> & ciphertext)
{
  Decryptor decryptor (ring);
  std::vector<uint8_t> out (ciphertext.size ());
  size_t written = 0;
  Header header;
  return decryptor.decrypt (ByteView (ciphertext), ByteView (), MutableByteView (out.data (), out.size ()), &written,
             &header) == Status::ok;
}

/* True when any key `m` ever held decrypts `ciphertext` under any key id:
 * the strongest form of "cannot read it". */
inline bool
any_held_key_decrypts (const Member & m, const std::vector<uint8_t> & ciphertext)
{
  Header header;
  size_t header_len = 0;
  if (ciphertext.empty () || decode_header (ByteView (ciphertext), &header, &header_len) != Status::ok)
    return false;
  for (const auto & key : m.ever_held) {
    KeyRing ring;
    ring.add_key (CipherSuite::aes_128_gcm_sha256_128, header.key_id, ByteView (key));
    if (decrypts (ring, ciphertext))
      return true;
  }
  return false;
}

/* Whether `needle` appears in any logged message, raw, hex or base64url. */
inline bool
log_contains_secret (const std::vector<BusMessage> & log, const std::vector<uint8_t> & needle)
{
  static const char hex[] = "0123456789abcdef";
  std::string h, b64 = base64url_encode (ByteView (needle));
  for (uint8_t byte : needle) {
    h += hex[byte >> 4];
    h += hex[byte & 0xf];
  }
  /* base64url of the same bytes at another alignment differs; check all
   * three alignments by trimming the edges. */
  std::vector<std::string> forms { std::string (needle.begin (), needle.end ()), h, b64.substr (2, b64.size () - 4) };
  for (const auto & message : log) {
    std::string text (message.payload.begin (), message.payload.end ());
    for (const auto & form : forms)
      if (!form.empty () && text.find (form) != std::string::npos)
        return true;
  }
  return false;
}

}  // namespace roomsim
