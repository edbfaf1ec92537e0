/* Real nats-server processes for tests, on 127.0.0.1 and free ports: one
 * server, or a cluster whose nodes route to each other on loopback. A node
 * can be stopped and started again on the same ports (a broker restart).
 * Every process is killed when the NatsServers object goes, and, should
 * the test process die first, by the kernel (ServerProcess): start servers
 * from a thread that lives as long as they should (the test's).
 *
 * Uses Debian's `nats-server` (found through $NATS_SERVER, PATH, /usr/sbin,
 * /usr/bin); no JetStream. */
#pragma once

#include "server-process.h"

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sframe_test {

/* The nats-server program, or empty when it is not installed. */
std::string find_nats_server ();

/* A private directory under the temporary directory, removed with all it
 * holds when this goes; path () is empty when it could not be made. */
class ScratchDir {
public:
  explicit ScratchDir (const std::string & prefix);
  ~ScratchDir ();
  ScratchDir (const ScratchDir &) = delete;
  ScratchDir & operator= (const ScratchDir &) = delete;
  const std::string & path () const { return path_; }

private:
  std::string path_;
};

/* Certificates made for a test by the openssl command, in a directory of
 * its own (removed at the end): a CA; a server certificate it signed for
 * 127.0.0.1 and localhost; a client certificate it signed; and another
 * CA, which signed nothing the servers present. */
class TestPki {
public:
  TestPki () : scratch_ ("sframe-pki"), dir_ (scratch_.path ()) {}

  /* Makes them all; false and the openssl output in *error on failure. */
  bool make (std::string * error);

  std::string ca () const { return dir_ + "/ca.pem"; }
  std::string other_ca () const { return dir_ + "/other-ca.pem"; }
  std::string server_cert () const { return dir_ + "/server.pem"; }
  std::string server_key () const { return dir_ + "/server.key"; }
  std::string client_cert () const { return dir_ + "/client.pem"; }
  std::string client_key () const { return dir_ + "/client.key"; }

private:
  bool run (const std::string & command, std::string * error) const;
  ScratchDir scratch_;
  const std::string dir_;
};

/* What the servers require of clients. */
struct ServerSecurity {
  std::string tls_cert;         /* with tls_key: TLS on */
  std::string tls_key;
  std::string client_ca;        /* set: clients must present a certificate this CA signed */
  std::string user, password;   /* set: clients must log in */
  /* set: nats-server -c FILE, for what has no command-line flag (operator
   * mode: operator, resolver); the flags above override it. */
  std::string config_file;
};

/* TLS with the PKI's server certificate, and one user with a password. */
ServerSecurity tls_and_password (const TestPki & pki, const std::string & user, const std::string & password);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int free_tcp_port ();

/* True once something accepts TCP connections on 127.0.0.1:port. */
bool accepts_connections (int port);

class NatsServers {
public:
  NatsServers ();
  ~NatsServers ();
  NatsServers (const NatsServers &) = delete;
  NatsServers & operator= (const NatsServers &) = delete;

  /* Starts `nodes` servers (a cluster when more than one) and waits until
   * each accepts clients and, for a cluster, has routes to all the others.
   * On failure stops what it started and says why in *error (with the
   * servers' logs). */
  bool start (size_t nodes, std::string * error);
  /* TLS and authorization for the servers started after this. */
  void secure (ServerSecurity security) { security_ = std::move (security); }

  size_t size () const { return nodes_.size (); }
  int client_port (size_t node) const { return nodes_[node].client_port; }
  /* "nats://127.0.0.1:PORT" of one node. */
  std::string url (size_t node) const;
  /* Every node's URL, comma-separated (what open_bus takes for a cluster). */
  std::string urls () const;
  bool running (size_t node);

  /* Ends a node: SIGTERM (its clients see the connection close), SIGKILL
   * if it has not gone after a few seconds. `hard`: SIGKILL at once. */
  void stop (size_t node, bool hard = false);
  /* Starts a stopped node again on the same ports; waits as start () does. */
  bool restart (size_t node, std::string * error);
  /* Waits until every running node has a route to every other running
   * node (cluster only). */
  bool wait_for_routes (std::chrono::milliseconds timeout, std::string * error);

  /* A node's log so far, for failure messages. */
  std::string log (size_t node) const;

private:
  struct Node {
    int client_port = 0;
    int cluster_port = 0;
    int monitor_port = 0;
    std::string log_path;
    ServerProcess process;
  };

  bool launch (size_t node, std::string * error);
  bool wait_until_ready (size_t node, std::string * error);
  std::vector<std::string> arguments (size_t node) const;
  int routes_of (size_t node) const;
  void stop_all ();
  std::string logs () const;

  std::string program_;
  std::string dir_;  /* logs, removed at the end */
  std::string cluster_name_;
  std::vector<Node> nodes_;
  ServerSecurity security_;
};

}  // namespace sframe_test
