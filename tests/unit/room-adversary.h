/* An adversarial, stateful driver for the key protocol (no GStreamer): a
 * room of honest members on the simulated bus (room-sim.h) and an
 * attacker who controls the bus (drops, holds back and releases in any
 * order, replays any earlier message, injects, flips bytes) and holds
 * three devices: an outsider whose token expired (eve), an ordinary member
 * (mallory, whose own provider runs honestly beside the attacker), and,
 * once someone has left or been revoked, that former member's device key
 * and token. It picks its actions from a byte string (a seed's random
 * bytes, or a fuzzer's input), and after every action checks, against an
 * oracle that knows the true membership, that no honest member lists a
 * device that never was a member (eve), or lists again a former member it
 * had already removed (the bus may delay a removal, by dropping messages,
 * but never undo one); and at the end, that no session key the attacker
 * made received a key from anyone who knew better: eve's and mallory's
 * forged sessions none at all, the former member's none from a member
 * whose roster ever held it. (A joiner the bus keeps alone in a room of
 * its own never learns that the former member left; while the former
 * member's token is valid, the rules let it in there, and the bus gains
 * nothing it could not get from the former member itself. See
 * docs/threat-model.md, "Not protected".)
 * Shared by test-room-adversary.cc (fixed seeds) and the libFuzzer target
 * tests/fuzz/fuzz-room-adversary.cc. */
#pragma once

#include "room-attacker.h"

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

namespace roomsim {

/* What one run found and did. */
struct AdversaryReport {
  size_t actions = 0;
  size_t checks = 0;         /* invariant checks made */
  size_t frames = 0;         /* frames tried: the attacker's sessions, and honest joiners on earlier ones */
  std::vector<std::string> violations;

  bool ok () const { return violations.empty (); }
};

class Adversary {
public:
  explicit Adversary (const uint8_t * data, size_t size) : input_ (data, data + size) {}

  AdversaryReport run (size_t max_actions = 400)
  {
    sim_.timing.liveness_ms = 3000;
    host_ = &sim_.add ("host", token::Role::host);
    mallory_member_ = &sim_.add ("mallory");
    Member & bob = sim_.add ("bob");
    honest_ = { host_, mallory_member_, &bob };
    if (!sim_.run_until ([&] { return sim_.converged (honest_) && sim_.keys_delivered (honest_); })) {
      report_.violations.push_back ("the room did not form");
      return report_;
    }
    eve_.token = sim_.issue (eve_.identity, token::Role::member, token::kDefaultGrants, "", nullptr,
        sim_.now ().unix_s - 3 * 3600, 300);
    mallory_ = AttackerDevice (mallory_member_->identity);
    mallory_.sid = sid_of (*mallory_member_);
    mallory_.seq = 1ull << 40;
    sim_.interceptor = [this] (BusMessage & message) { return intercept (message); };
    while (report_.actions < max_actions && !exhausted ()) {
      act ();
      report_.actions++;
      check_rosters ();
      if (report_.actions % 25 == 0)
        record_frames ();
    }
    record_frames ();
    check_keys ();
    return report_;
  }

private:
  struct Former {
    Member *member;
    int64_t left_ms;
    AttackerDevice device;
    std::set<const Member *> listed_at;    /* members whose roster held it when it left */
    std::set<const Member *> removed_at;   /* members whose roster did not hold it, since */
    bool ended = false;                    /* a roster change named it in `left` or `revoked` */
  };

  bool exhausted () const { return pos_ >= input_.size (); }

  uint8_t next ()
  {
    return exhausted () ? 0 : input_[pos_++];
  }

  uint32_t next_u16 () { return (uint32_t (next ()) << 8) | next (); }

  static uint64_t sid_of (const Member & m)
  {
    uint64_t sid = 0;
    json hello = signed_payload (last_hello_of (*m.sim, m.fingerprint ()), "hello");
    if (!hello.is_discarded ())
      wire::parse_u64_hex (hello.value ("sid", ""), &sid);
    return sid;
  }

  Verdict intercept (BusMessage & message)
  {
    if (drop_budget_ > 0) {
      drop_budget_--;
      return Verdict::drop;
    }
    if (hold_budget_ > 0) {
      hold_budget_--;
      held_.push_back (message);
      return Verdict::drop;
    }
    if (flip_next_ && message.payload.size () > 8) {
      flip_next_ = false;
      message.payload[flip_at_ % message.payload.size ()] ^= 0x20;
    }
    return Verdict::deliver;
  }

  Member *random_honest ()
  {
    std::vector<Member *> active;
    for (Member *m : honest_)
      if (m->active)
        active.push_back (m);
    return active.empty () ? nullptr : active[next () % active.size ()];
  }

  void act ()
  {
    switch (next () % 16) {
      case 0: case 1: case 2: case 3:
        sim_.run_for (1 + next () % 200);
        return;
      case 4:
        drop_budget_ = next () % 8;
        return;
      case 5:
        hold_budget_ = next () % 16;
        return;
      case 6:
        release_held ();
        return;
      case 7:
        if (!sim_.log.empty ())
          sim_.inject (sim_.log[next_u16 () % sim_.log.size ()]);
        return;
      case 8:
        flip_next_ = true;
        flip_at_ = next_u16 ();
        return;
      case 9:
        outsider_hello ();
        return;
      case 10:
        forged_welcome (next () % 3);
        return;
      case 11:
        former_returns ();
        return;
      case 12:
        mallory_forges ();
        return;
      case 13:
        membership_event ();
        return;
      default:
        sim_.run_for (1 + next () % 50);
        return;
    }
  }

  void release_held ()
  {
    /* In any order: the attacker reorders as it likes. */
    while (!held_.empty ()) {
      size_t i = next () % held_.size ();
      sim_.inject (held_[i]);
      held_.erase (held_.begin () + static_cast<long> (i));
    }
  }

  /* Eve's hello, dated inside her (expired) token's lifetime. */
  void outsider_hello ()
  {
    sim_.inject (eve_.hello (sim_, sim_.now ().unix_s - 3 * 3600 + 10));
  }

  /* A welcome adding `who` (eve, the former member, or nobody new), signed
   * by eve, by mallory, or by the former member, to a random member. */
  void forged_welcome (int signer_choice)
  {
    Member *victim = random_honest ();
    if (!victim)
      return;
    AttackerDevice *signer = signer_choice == 0 ? &eve_ : signer_choice == 1 ? &mallory_ : former_device ();
    if (!signer)
      return;
    ObservedRoster roster = observe_roster (sim_);
    auto members = roster.members;
    if (next () % 2)
      members.erase (host_->fingerprint ());
    BusMessage added_hello = signer == &mallory_ ? eve_.hello (sim_, sim_.now ().unix_s - 3 * 3600 + 10)
                                                 : signer->hello (sim_, sim_.now ().unix_s - 3 * 3600 + 10);
    const std::string & added = signer == &mallory_ ? eve_.fingerprint () : signer->fingerprint ();
    members[added] = { static_cast<uint32_t> (roster.next), hello_hash_of (added_hello) };
    std::vector<BusMessage> hellos { added_hello };
    for (Member *m : honest_)
      hellos.push_back (last_hello_of (sim_, m->fingerprint ()));
    sim_.inject (forge_welcome (sim_, *signer, victim->fingerprint (), roster.epoch + 1 + next () % 1000, members,
        hellos));
  }

  AttackerDevice *former_device () { return formers_.empty () ? nullptr : &formers_.back ().device; }

  /* The former member re-signs a hello in its old session with a fresh
   * session key and its old time; or signs fresh messages in its old
   * session (a sync, and a beat carrying its real old hello), as a member
   * dropped for silence does to come back; or the bus replays its real
   * old hello inside a welcome whose signature is zeros. */
  void former_returns ()
  {
    if (formers_.empty ())
      return;
    Former & f = formers_.back ();
    uint8_t how = next () % 3;
    if (how == 0) {
      f.device.new_session_key ();
      sim_.inject (f.device.hello (sim_, sim_.now ().unix_s - 60));
      return;
    }
    if (how == 1) {
      BusMessage old = last_hello_of (sim_, f.device.fingerprint ());
      json sync = f.device.payload (sim_, "sync");
      sync["epoch"] = 0;
      sim_.inject ({ wire::subject_all (sim_.room ()), f.device.sign (sync) });
      json beat = f.device.payload (sim_, "beat");
      beat["epoch"] = 1u << 20;
      beat["hash"] = std::string (64, '0');
      beat["hellos"] = json::array ({ std::string (old.payload.begin (), old.payload.end ()) });
      sim_.inject ({ wire::subject_all (sim_.room ()), f.device.sign (beat) });
      return;
    }
    BusMessage old = last_hello_of (sim_, f.device.fingerprint ());
    Member *victim = random_honest ();
    if (old.payload.empty () || !victim)
      return;
    json welcome = f.device.payload (sim_, "welcome");
    welcome["to"] = victim->fingerprint ();
    welcome["roster"] = json::object ();
    welcome["hellos"] = json::array ({ std::string (old.payload.begin (), old.payload.end ()) });
    std::string text = welcome.dump ();
    std::vector<uint8_t> zeros (64, 0);
    json envelope = { { "p", base64url_encode (text_bytes (text)) }, { "s", base64url_encode (ByteView (zeros)) } };
    std::string bytes = envelope.dump ();
    sim_.inject ({ wire::subject_to (sim_.room (), victim->fingerprint ()),
        std::vector<uint8_t> (bytes.begin (), bytes.end ()) });
  }

  /* Mallory, a member, forges: a roster change adding eve, or a renewal
   * making him host. */
  void mallory_forges ()
  {
    if (!mallory_member_->active)
      return;
    if (next () % 2) {
      ObservedRoster roster = observe_roster (sim_);
      BusMessage eve_hello = eve_.hello (sim_, sim_.now ().unix_s - 3 * 3600 + 10);
      json change = mallory_.payload (sim_, "roster");
      change["epoch"] = roster.epoch + 1;
      change["prev"] = roster.hash;
      change["hash"] = std::string (64, '0');
      change["next"] = roster.next + 1;
      change["added"] = json::array ({ json::array ({ eve_.fingerprint (), roster.next, hello_hash_of (eve_hello) }) });
      change["removed"] = json::array ();
      change["change"] = "join";
      change["who"] = json::array ({ eve_.fingerprint () });
      sim_.inject (eve_hello);
      sim_.inject ({ wire::subject_all (sim_.room ()), mallory_.sign (change) });
      return;
    }
    json renew = mallory_.payload (sim_, "renew");
    renew["token"] = sim_.issue (mallory_.identity, token::Role::host);
    renew["hello"] = hello_hash_of (last_hello_of (sim_, mallory_.fingerprint ()));
    sim_.inject ({ wire::subject_all (sim_.room ()), mallory_.sign (renew) });
  }

  /* An honest change: bob leaves (or the host revokes him), and the
   * attacker takes his device; or a new honest member joins. */
  void membership_event ()
  {
    uint8_t what = next () % 3;
    if (what < 2 && formers_.empty ()) {
      Member *bob = honest_[2];
      if (what == 0)
        sim_.stop (*bob);
      else if (host_->provider->revoke (bob->fingerprint (), sim_.now ()) != Status::ok)
        return;
      else
        bob->active = false;   /* the host's word removes it; the attacker keeps the device */
      Former f { bob, sim_.now_ms, AttackerDevice (bob->identity), {}, {} };
      for (Member *m : honest_)
        if (m != bob && m->active && lists (*m, bob->fingerprint ()))
          f.listed_at.insert (m);
      f.device.token = bob->token;
      f.device.sid = sid_of (*bob);
      f.device.seq = 1ull << 41;
      formers_.push_back (std::move (f));
      return;
    }
    if (joiners_ < 2) {
      joiners_++;
      honest_.push_back (&sim_.add ("joiner" + std::to_string (joiners_)));
      joined_at_.push_back ({ honest_.back (), sim_.now_ms });
    }
  }

  /* Rosters hold only members: never eve; and a former member, once a
   * member that held it when it left has removed it, never again there. */
  void check_rosters ()
  {
    note_endings ();
    for (Member *m : honest_) {
      if (!m->active || !m->provider)
        continue;
      report_.checks++;
      if (lists (*m, eve_.fingerprint ()))
        violation (m->name + " lists eve (expired token)");
      for (Former & f : formers_) {
        if (f.member == m)
          continue;
        bool listed = lists (*m, f.device.fingerprint ());
        if (!listed)
          f.removed_at.insert (m);
        else if (f.removed_at.count (m) && f.listed_at.count (m) && f.ended)
          violation (m->name + " lists " + f.member->name + " again, " + std::to_string (sim_.now_ms - f.left_ms) +
              " ms after it left");
      }
    }
  }

  /* A former member's session ended for the room once a roster change
   * named it in `left` or `revoked`. Until then the committer saw only
   * silence (the bus dropped its leave), and a session dropped for silence
   * may come back while its token admits it (docs/threat-model.md, "Not
   * protected"). */
  void note_endings ()
  {
    for (; log_scanned_ < sim_.log.size (); log_scanned_++) {
      json roster = signed_payload (sim_.log[log_scanned_], "roster");
      if (roster.is_discarded () || !roster.is_object ())
        continue;
      for (Former & f : formers_)
        for (const char *field : { "left", "revoked" })
          if (roster.contains (field) && roster[field].is_array ())
            for (const auto & fp : roster[field])
              f.ended |= fp == f.device.fingerprint ();
    }
  }

  /* A frame of each active honest sender under its current key, stamped. */
  void record_frames ()
  {
    for (Member *m : honest_)
      if (m->active && m->has_sender ())
        frames_.push_back ({ sim_.now_ms, m->name, encrypt_frame (*m, random_frame (64)) });
  }

  /* No forged session receives a key from anyone who knew better. */
  void check_keys ()
  {
    check_device_keys ("eve", eve_, nullptr);
    check_device_keys ("mallory", mallory_, nullptr);
    for (const Former & f : formers_)
      check_device_keys (f.member->name + " (former)", f.device, &f);
    check_joiners_read_nothing_earlier ();
  }

  /* Backward secrecy: no key an honest joiner ever held decrypts a frame
   * sent before it even asked to join. */
  void check_joiners_read_nothing_earlier ()
  {
    for (const auto & joiner : joined_at_) {
      for (const auto & frame : frames_) {
        if (frame.at_ms >= joiner.second)
          continue;
        report_.frames++;
        if (any_held_key_decrypts (*joiner.first, frame.bytes))
          violation (joiner.first->name + " decrypts a frame of " + frame.sender + " sent at " +
              std::to_string (frame.at_ms) + " ms, before it joined");
      }
    }
  }

  void check_device_keys (const std::string & name, const AttackerDevice & device, const Former * former)
  {
    std::map<uint64_t, std::string> senders;
    auto keys = device.keys_opened (sim_, &senders);
    for (auto it = keys.begin (); it != keys.end ();) {
      bool knew = true;
      if (former) {
        knew = false;
        for (const Member *m : former->listed_at)
          knew = knew || m->fingerprint () == senders[it->first];
      }
      if (knew)
        violation (name + "'s forged session opened key " + std::to_string (it->first) + " from " +
            name_of (senders[it->first]));
      it = knew ? std::next (it) : keys.erase (it);
    }
    for (const auto & frame : frames_) {
      report_.frames++;
      if (any_key_decrypts (keys, frame.bytes))
        violation (name + " decrypts a frame of " + frame.sender + " at " + std::to_string (frame.at_ms) + " ms");
    }
  }

  std::string name_of (const std::string & fingerprint) const
  {
    for (const Member *m : honest_)
      if (m->fingerprint () == fingerprint)
        return m->name;
    return fingerprint.substr (0, 8);
  }

  void violation (const std::string & what)
  {
    if (report_.violations.size () < 20)
      report_.violations.push_back ("action " + std::to_string (report_.actions) + ": " + what);
  }

  struct Frame {
    int64_t at_ms;
    std::string sender;
    std::vector<uint8_t> bytes;
  };

  std::vector<uint8_t> input_;
  size_t pos_ = 0;
  Sim sim_;
  Member *host_ = nullptr;
  Member *mallory_member_ = nullptr;
  std::vector<Member *> honest_;
  AttackerDevice eve_;
  AttackerDevice mallory_;
  std::vector<Former> formers_;
  std::deque<BusMessage> held_;
  size_t log_scanned_ = 0;
  std::vector<Frame> frames_;
  uint32_t drop_budget_ = 0, hold_budget_ = 0, flip_at_ = 0;
  bool flip_next_ = false;
  int joiners_ = 0;
  std::vector<std::pair<Member *, int64_t>> joined_at_;   /* honest joiners, and when they started */
  AdversaryReport report_;
};

}  // namespace roomsim
