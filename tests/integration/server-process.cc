#include "server-process.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sframe_test {

namespace {

constexpr auto kStopGrace = std::chrono::seconds (5);
constexpr auto kPoll = std::chrono::milliseconds (20);

}  // namespace

bool
ServerProcess::start (const std::vector<std::string> & args, std::string * error)
{
  if (running ()) {
    *error = "already running";
    return false;
  }
  std::vector<std::string> copy = args;
  std::vector<char *> argv;
  for (auto & a : copy)
    argv.push_back (&a[0]);
  argv.push_back (nullptr);

  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0) {
    *error = std::string ("fork: ") + std::strerror (errno);
    return false;
  }
  if (pid == 0) {
    /* Only async-signal-safe calls between fork and exec. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
      _exit (127);
    int null = open ("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2 (null, STDIN_FILENO);
      dup2 (null, STDOUT_FILENO);
      dup2 (null, STDERR_FILENO);
    }
    execv (argv[0], argv.data ());
    _exit (127);
  }
  pid_ = pid;
  return true;
}

bool
ServerProcess::running ()
{
  if (pid_ <= 0)
    return false;
  int status;
  pid_t r = waitpid (pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return false;
  }
  return true;
}

void
ServerProcess::send_signal (int sig)
{
  if (pid_ > 0)
    kill (pid_, sig);
}

void
ServerProcess::stop (bool hard)
{
  if (pid_ <= 0)
    return;
  kill (pid_, hard ? SIGKILL : SIGTERM);
  auto deadline = std::chrono::steady_clock::now () + kStopGrace;
  while (running ()) {
    if (std::chrono::steady_clock::now () >= deadline) {
      kill (pid_, SIGKILL);
      waitpid (pid_, nullptr, 0);
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for (kPoll);
  }
}

}  // namespace sframe_test
