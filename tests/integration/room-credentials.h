/* Room credentials for tests: a room authority, and for each member an
 * identity and a join token, written to files as the keymanager reads
 * them. */
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sframe_test {

/* Writes `content` to a new file readable by its owner only. */
bool write_private_file (const std::string & path, const std::string & content);

struct Device {
  std::string name;
  std::string key_path;
  std::string token_path;
};

struct Credentials {
  std::string authority_path;
  std::vector<Device> devices;
  std::vector<std::string> fingerprints;
};

/* An authority (its public key in DIR/authority.pub), and for each name an
 * identity (DIR/NAME.key) and a join token for `room` (DIR/NAME.jwt); the
 * first name is the host. `lifetimes` (seconds) shortens some tokens.
 * Fails the current gtest on error. */
void make_credentials (const std::string & dir, const std::string & room, const std::vector<std::string> & names,
    Credentials * out, const std::map<std::string, int64_t> & lifetimes = {});

}  // namespace sframe_test
