#include <gst/sframe/core/keyring.h>

#include <gst/sframe/core/random.h>

#include <algorithm>

namespace sframe {

uint64_t
KeyRing::first_counter_locked (uint64_t key_id, uint64_t wanted) const
{
  auto spent = spent_counters_.find (key_id);
  return spent == spent_counters_.end () ? wanted : std::max (wanted, spent->second);
}

/* An entry leaves the ring: what it encrypted must never be encrypted again. */
void
KeyRing::retire_locked (const std::shared_ptr<KeyEntry> & entry)
{
  uint64_t next = entry->next_counter ();
  if (next > 0) {
    uint64_t & spent = spent_counters_[entry->key_id ()];
    spent = std::max (spent, next);
  }
  if (entry->static_key () != 0)
    derived_count_--;
  if (sender_ == entry)
    sender_.reset ();
}

Status
KeyRing::install_locked (CipherSuite suite, uint64_t key_id, ByteView base_key,
    uint64_t first_counter, bool own)
{
  auto it = keys_.find (key_id);
  if (it != keys_.end () && it->second->same_key (suite, base_key)) {
    if (it->second->static_key () != 0) {
      it->second->detach_from_static_key ();
      derived_count_--;
    }
    if (own && !it->second->may_send ()) {
      it->second->allow_sending ();
      bump ();
    }
    return Status::ok;
  }
  bool was_sender = false;
  if (it != keys_.end ()) {
    was_sender = sender_ == it->second;
    retire_locked (it->second);
    session_ids_.erase (key_id);
  }
  auto entry = std::make_shared<KeyEntry> (suite, key_id, base_key,
      first_counter_locked (key_id, first_counter));
  if (own)
    entry->allow_sending ();
  /* A sender replaced by a key for receiving leaves no sender: fail closed. */
  if (was_sender && own)
    sender_ = entry;
  keys_[key_id] = std::move (entry);
  bump ();
  return Status::ok;
}

static Status
check_key (CipherSuite suite, ByteView base_key)
{
  if (!suite_params (suite))
    return Status::unsupported_suite;
  if (base_key.empty ())
    return Status::invalid_key;
  return Status::ok;
}

Status
KeyRing::add_key (CipherSuite suite, uint64_t key_id, ByteView base_key)
{
  Status s = check_key (suite, base_key);
  if (s != Status::ok)
    return s;
  std::lock_guard<std::mutex> lock (lock_);
  return install_locked (suite, key_id, base_key, 0, false);
}

Status
KeyRing::add_own_key (CipherSuite suite, uint64_t key_id, ByteView base_key, uint64_t first_counter)
{
  Status s = check_key (suite, base_key);
  if (s != Status::ok)
    return s;
  std::lock_guard<std::mutex> lock (lock_);
  return install_locked (suite, key_id, base_key, first_counter, true);
}

bool
KeyRing::remove_key (uint64_t key_id)
{
  std::lock_guard<std::mutex> lock (lock_);
  auto it = keys_.find (key_id);
  if (it == keys_.end ())
    return false;
  retire_locked (it->second);
  keys_.erase (it);
  session_ids_.erase (key_id);
  bump ();
  return true;
}

void
KeyRing::clear ()
{
  std::lock_guard<std::mutex> lock (lock_);
  for (const auto & kv : keys_)
    retire_locked (kv.second);
  keys_.clear ();
  static_keys_.clear ();
  session_ids_.clear ();
  sender_.reset ();
  bump ();
}

Status
KeyRing::add_static_key (CipherSuite suite, ByteView base_key, uint64_t * handle)
{
  Status s = check_key (suite, base_key);
  if (s != Status::ok)
    return s;
  std::lock_guard<std::mutex> lock (lock_);
  for (auto & key : static_keys_) {
    if (key.suite == suite && key.base_key.equals (base_key)) {
      key.uses++;
      *handle = key.handle;
      return Status::ok;
    }
  }
  static_keys_.push_back (StaticKey {next_static_handle_++, 1, suite, SecureBytes (base_key)});
  *handle = static_keys_.back ().handle;
  bump ();
  return Status::ok;
}

bool
KeyRing::remove_static_key (uint64_t handle)
{
  std::lock_guard<std::mutex> lock (lock_);
  auto it = std::find_if (static_keys_.begin (), static_keys_.end (),
      [handle] (const StaticKey & key) { return key.handle == handle; });
  if (it == static_keys_.end ())
    return false;
  if (--it->uses > 0)
    return true;
  static_keys_.erase (it);
  for (auto k = keys_.begin (); k != keys_.end ();) {
    if (k->second->static_key () == handle) {
      retire_locked (k->second);
      k = keys_.erase (k);
    } else {
      ++k;
    }
  }
  bump ();
  return true;
}

Status
KeyRing::start_sender_session (CipherSuite suite, ByteView base_key, uint64_t * key_id)
{
  Status s = check_key (suite, base_key);
  if (s != Status::ok)
    return s;
  std::lock_guard<std::mutex> lock (lock_);
  uint64_t id = 0;
  do {
    id = random_nonzero_u64 ();
    if (id == 0)
      return Status::crypto_error;
  } while (keys_.count (id) || spent_counters_.count (id) || forgotten_floors_.count (id));
  auto entry = std::make_shared<KeyEntry> (suite, id, base_key, 0);
  entry->allow_sending ();
  keys_[id] = std::move (entry);
  session_ids_.insert (id);
  *key_id = id;
  bump ();
  return Status::ok;
}

size_t
KeyRing::distinct_static_keys () const
{
  std::lock_guard<std::mutex> lock (lock_);
  std::vector<const KeyEntry *> sessions;
  for (uint64_t id : session_ids_) {
    auto it = keys_.find (id);
    if (it != keys_.end ())
      sessions.push_back (it->second.get ());
  }
  size_t distinct = 0;
  for (size_t i = 0; i < static_keys_.size (); i++) {
    const StaticKey & key = static_keys_[i];
    bool seen = std::any_of (static_keys_.begin (), static_keys_.begin () + i,
        [&key] (const StaticKey & k) { return k.suite == key.suite && k.base_key.equals (key.base_key.view ()); });
    distinct += seen ? 0 : 1;
  }
  for (size_t i = 0; i < sessions.size (); i++) {
    const KeyEntry & entry = *sessions[i];
    bool seen = std::any_of (sessions.begin (), sessions.begin () + i,
        [&entry] (const KeyEntry * e) { return e->same_material (entry); }) ||
        std::any_of (static_keys_.begin (), static_keys_.end (),
        [&entry] (const StaticKey & k) { return entry.same_key (k.suite, k.base_key.view ()); });
    distinct += seen ? 0 : 1;
  }
  return distinct;
}

Status
KeyRing::set_sender (uint64_t key_id)
{
  std::lock_guard<std::mutex> lock (lock_);
  auto it = keys_.find (key_id);
  if (it == keys_.end ())
    return Status::unknown_key;
  if (!it->second->may_send ())
    return Status::not_own_key;
  sender_ = it->second;
  bump ();
  return Status::ok;
}

void
KeyRing::clear_sender ()
{
  std::lock_guard<std::mutex> lock (lock_);
  sender_.reset ();
  bump ();
}

bool
KeyRing::sender_key_id (uint64_t * key_id) const
{
  std::lock_guard<std::mutex> lock (lock_);
  if (!sender_)
    return false;
  *key_id = sender_->key_id ();
  return true;
}

std::shared_ptr<KeyEntry>
KeyRing::find (uint64_t key_id) const
{
  std::lock_guard<std::mutex> lock (lock_);
  auto it = keys_.find (key_id);
  return it == keys_.end () ? nullptr : it->second;
}

std::shared_ptr<KeyEntry>
KeyRing::sender () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return sender_;
}

std::vector<uint64_t>
KeyRing::key_ids () const
{
  std::lock_guard<std::mutex> lock (lock_);
  std::vector<uint64_t> ids;
  for (const auto & kv : keys_)
    ids.push_back (kv.first);
  std::sort (ids.begin (), ids.end ());
  return ids;
}

bool
KeyRing::has_static_keys () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return !static_keys_.empty ();
}

std::vector<std::shared_ptr<KeyEntry>>
KeyRing::static_candidates (uint64_t key_id) const
{
  std::lock_guard<std::mutex> lock (lock_);
  std::vector<std::shared_ptr<KeyEntry>> candidates;
  for (const auto & key : static_keys_) {
    candidates.push_back (std::make_shared<KeyEntry> (key.suite, key_id, key.base_key.view (),
        first_counter_locked (key_id, 0), key.handle));
  }
  return candidates;
}

void
KeyRing::remember_floor_locked (uint64_t key_id, uint64_t floor)
{
  if (forgotten_floors_.emplace (key_id, floor).second) {
    forgotten_order_.push_back (key_id);
  } else {
    forgotten_floors_[key_id] = std::max (forgotten_floors_[key_id], floor);
  }
  while (forgotten_order_.size () > kMaxForgottenFloors) {
    forgotten_floors_.erase (forgotten_order_.front ());
    forgotten_order_.pop_front ();
  }
}

void
KeyRing::forget_least_used_derived_locked ()
{
  auto oldest = keys_.end ();
  for (auto it = keys_.begin (); it != keys_.end (); ++it) {
    if (it->second->static_key () != 0 &&
        (oldest == keys_.end () || it->second->last_used () < oldest->second->last_used ()))
      oldest = it;
  }
  if (oldest == keys_.end ())
    return;
  uint64_t floor = 0;
  if (oldest->second->highest_accepted (&floor))
    remember_floor_locked (oldest->first, floor);
  retire_locked (oldest->second);
  keys_.erase (oldest);
}

std::shared_ptr<KeyEntry>
KeyRing::adopt (std::shared_ptr<KeyEntry> derived)
{
  std::lock_guard<std::mutex> lock (lock_);
  uint64_t key_id = derived->key_id ();
  auto it = keys_.find (key_id);
  if (it != keys_.end ())
    return it->second;
  bool still_static = std::any_of (static_keys_.begin (), static_keys_.end (),
      [&] (const StaticKey & key) { return key.handle == derived->static_key (); });
  if (!still_static)
    return nullptr;
  auto floor = forgotten_floors_.find (key_id);
  if (floor != forgotten_floors_.end ())
    derived->refuse_through (floor->second);
  if (derived_count_ >= kMaxDerivedKeys)
    forget_least_used_derived_locked ();
  derived_count_++;
  keys_[key_id] = derived;
  bump ();
  return derived;
}

void
KeyRing::set_exhaustion_listener (std::function<void (uint64_t key_id)> listener)
{
  std::lock_guard<std::mutex> lock (lock_);
  exhaustion_listener_ = std::move (listener);
}

void
KeyRing::report_exhausted (KeyEntry & entry) const
{
  if (!entry.claim_exhaustion_report ())
    return;
  std::function<void (uint64_t)> listener;
  {
    std::lock_guard<std::mutex> lock (lock_);
    listener = exhaustion_listener_;
  }
  if (listener)
    listener (entry.key_id ());
}

}  // namespace sframe
