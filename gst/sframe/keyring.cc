#include <gst/sframe/keyring.h>

#include <algorithm>

namespace sframe {

Status
KeyRing::add_key (CipherSuite suite, uint64_t key_id, ByteView base_key, uint64_t first_counter)
{
  if (!suite_params (suite))
    return Status::unsupported_suite;
  if (base_key.empty ())
    return Status::invalid_key;

  std::lock_guard<std::mutex> lock (lock_);
  auto it = keys_.find (key_id);
  if (it != keys_.end () && it->second->same_key (suite, base_key))
    return Status::ok;
  auto entry = std::make_shared<KeyEntry> (suite, key_id, base_key, first_counter);
  if (sender_ && sender_->key_id () == key_id)
    sender_ = entry;
  keys_[key_id] = std::move (entry);
  bump ();
  return Status::ok;
}

bool
KeyRing::remove_key (uint64_t key_id)
{
  std::lock_guard<std::mutex> lock (lock_);
  if (keys_.erase (key_id) == 0)
    return false;
  if (sender_ && sender_->key_id () == key_id)
    sender_.reset ();
  bump ();
  return true;
}

void
KeyRing::clear ()
{
  std::lock_guard<std::mutex> lock (lock_);
  keys_.clear ();
  sender_.reset ();
  bump ();
}

Status
KeyRing::set_sender (uint64_t key_id)
{
  std::lock_guard<std::mutex> lock (lock_);
  auto it = keys_.find (key_id);
  if (it == keys_.end ())
    return Status::unknown_key;
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

}  // namespace sframe
