/* A network namespace of the test's own for media through Janus. Janus
 * 1.1.2 never gathers ICE candidates on a loopback interface, so the
 * media tests enter a fresh namespace (no route out, nothing else in it)
 * with a veth pair: Janus's ICE on one end (kSfuInterface, 10.77.0.1),
 * the members' on the other (kMemberAddress). Both ends are local
 * addresses of the same namespace, so packets between them arrive with a
 * local source address: accept_local lets them in. Signalling (WebSocket,
 * NATS) stays on 127.0.0.1 inside the namespace. */
#pragma once

#include <string>

namespace sframe_test {

constexpr const char *kSfuInterface = "sfu0";
constexpr const char *kSfuAddress = "10.77.0.1";
constexpr const char *kMemberAddress = "10.77.0.2";

/* Moves this process (call it before any thread starts) into a new network
 * namespace set up as above; false and why (not root, no `ip`) otherwise.
 * Every process started afterwards inherits it, and it vanishes with the
 * last of them. */
bool enter_media_namespace (std::string * error);

}  // namespace sframe_test
