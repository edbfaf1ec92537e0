/* One server process a test starts: forked and exec'd with its output sent
 * to /dev/null (servers here write their own log files), and killed by the
 * kernel should the test process die first (PR_SET_PDEATHSIG): start it
 * from a thread that lives as long as it should (the test's). */
#pragma once

#include <csignal>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sframe_test {

class ServerProcess {
public:
  ServerProcess () = default;
  ~ServerProcess () { stop (); }
  ServerProcess (const ServerProcess &) = delete;
  ServerProcess & operator= (const ServerProcess &) = delete;
  ServerProcess (ServerProcess && other) noexcept : pid_ (other.pid_) { other.pid_ = -1; }

  /* Runs argv[0] (a path) with `args`; false and why in *error. */
  bool start (const std::vector<std::string> & args, std::string * error);
  /* False once it has exited (and was reaped) or was never started. */
  bool running ();
  /* Sends SIGTERM without waiting, for stopping many at once. */
  void signal_stop () { send_signal (SIGTERM); }
  /* SIGSTOP / SIGCONT: a server that hangs without closing anything. */
  void pause () { send_signal (SIGSTOP); }
  void resume () { send_signal (SIGCONT); }
  /* SIGTERM (SIGKILL at once when `hard`), then SIGKILL if it has not
   * exited after a grace period; returns when it is gone. */
  void stop (bool hard = false);
  /* Its process id, -1 when not started (for /proc reads). */
  pid_t pid () const { return pid_; }

private:
  void send_signal (int sig);
  pid_t pid_ = -1;
};

}  // namespace sframe_test
