#include "media-netns.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sched.h>

namespace sframe_test {

namespace {

bool
run (const std::string & command, std::string * error)
{
  if (std::system ((command + " 2>/dev/null").c_str ()) == 0)
    return true;
  *error = "failed: " + command;
  return false;
}

bool
write_sysctl (const std::string & path, const std::string & value, std::string * error)
{
  std::ofstream out (path);
  out << value;
  out.close ();
  if (out)
    return true;
  *error = "cannot write " + path;
  return false;
}

}  // namespace

bool
enter_media_namespace (std::string * error)
{
  if (unshare (CLONE_NEWNET) != 0) {
    *error = std::string ("unshare(CLONE_NEWNET): ") + std::strerror (errno) + " (the Janus media tests run as root)";
    return false;
  }
  const std::string sfu = kSfuInterface, member = "member0";
  return run ("ip link set lo up", error) &&
      run ("ip link add " + sfu + " type veth peer name " + member, error) &&
      run ("ip addr add " + std::string (kSfuAddress) + "/24 dev " + sfu, error) &&
      run ("ip addr add " + std::string (kMemberAddress) + "/24 dev " + member, error) &&
      run ("ip link set " + sfu + " up", error) && run ("ip link set " + member + " up", error) &&
      write_sysctl ("/proc/sys/net/ipv4/conf/all/accept_local", "1", error) &&
      write_sysctl ("/proc/sys/net/ipv4/conf/" + sfu + "/accept_local", "1", error) &&
      write_sysctl ("/proc/sys/net/ipv4/conf/" + member + "/accept_local", "1", error);
}

}  // namespace sframe_test
