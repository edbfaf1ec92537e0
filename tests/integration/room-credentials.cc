#include "room-credentials.h"

#include <gst/sframe/keys/identity.h>
#include <gst/sframe/keys/token.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sframe_test {

bool
write_private_file (const std::string & path, const std::string & content)
{
  int fd = open (path.c_str (), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return false;
  bool ok = fchmod (fd, 0600) == 0 &&
      write (fd, content.data (), content.size ()) == static_cast<ssize_t> (content.size ());
  return close (fd) == 0 && ok;
}


void
make_credentials (const std::string & dir, const std::string & room, const std::vector<std::string> & names,
    Credentials * out, const std::map<std::string, int64_t> & lifetimes)
{
  sframe::Identity authority;
  ASSERT_EQ (sframe::Identity::generate (&authority), sframe::Status::ok);
  out->authority_path = dir + "/authority.pub";
  auto saved = sframe::save_public_key (out->authority_path,
      {authority.public_key ().data (), authority.public_key ().size ()});
  ASSERT_TRUE (saved.ok ()) << saved.message;
  for (size_t i = 0; i < names.size (); i++) {
    Device d;
    d.name = names[i];
    sframe::Identity identity;
    ASSERT_EQ (sframe::Identity::generate (&identity), sframe::Status::ok);
    d.key_path = dir + "/" + d.name + ".key";
    auto written = identity.save (d.key_path);
    ASSERT_TRUE (written.ok ()) << written.message;

    sframe::token::IssueRequest request;
    request.room = room;
    request.member_id = d.name;
    request.display_name = d.name;
    request.role = i == 0 ? sframe::token::Role::host : sframe::token::Role::member;
    request.device_public_key = identity.public_key ();
    if (lifetimes.count (d.name))
      request.lifetime = lifetimes.at (d.name);
    std::string token;
    sframe::Result issued = sframe::token::issue (authority, request, static_cast<int64_t> (std::time (nullptr)),
        &token);
    ASSERT_EQ (issued.status, sframe::Status::ok) << issued.message;
    d.token_path = dir + "/" + d.name + ".jwt";
    ASSERT_TRUE (write_private_file (d.token_path, token + "\n")) << d.token_path << ": " << std::strerror (errno);
    out->devices.push_back (d);
    out->fingerprints.push_back (identity.fingerprint ());
  }
}

}  // namespace sframe_test
