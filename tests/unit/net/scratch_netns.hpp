// Network namespaces of a test's own, for the root tests of src/net: made with create_netns on a
// temporary path and removed (with every link in them) when the object goes, also when the test
// fails. Sockets opened through socket() live in the namespace, so packets can be sent between
// namespaces from the test's own threads, with no helper processes.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>

#include "common/fd.hpp"
#include "net/address.hpp"
#include "net/netlink.hpp"
#include "test_support.hpp"

namespace tiffin::test {

bool running_as_root();
#define REQUIRE_ROOT() \
  if (!::tiffin::test::running_as_root()) GTEST_SKIP() << "needs root (network namespaces)"

class ScratchNetns {
 public:
  // Needs root; without it nothing is made and ok() is false.
  ScratchNetns();
  ~ScratchNetns();
  ScratchNetns(const ScratchNetns&) = delete;

  bool ok() const { return nl_.has_value(); }
  const std::string& path() const { return path_; }
  net::Netlink& nl() { return *nl_; }
  // An fd of the namespace, for create_veth's peer.
  int fd() const { return fd_.get(); }
  // A socket made inside the namespace.
  UniqueFd socket(int family, int type);
  // Runs a shell command inside the namespace (nsenter), for checking state with ip/nft/bridge;
  // returns its output (stdout and stderr).
  std::string sh(const std::string& command);
  // Writes a sysctl in the namespace; fails the test on error.
  void sysctl(const std::string& key, const std::string& value);

 private:
  TempDir dir_;
  std::string path_;
  UniqueFd fd_;
  std::optional<net::Netlink> nl_;
};

// A TCP listener on `addr`:`port` in `ns`.
UniqueFd tcp_listen(ScratchNetns& ns, const net::IpAddress& addr, uint16_t port);
// Connects from `ns` to `addr`:`port` (timeout 2 s) and exchanges a line with a peer that
// accepts on `listener`; returns the source address the listener saw, or nullopt if the
// connection failed.
std::optional<net::IpAddress> tcp_exchange(ScratchNetns& ns, const net::IpAddress& addr, uint16_t port, int listener);
// A UDP socket bound to `addr`:`port` in `ns`.
UniqueFd udp_bind(ScratchNetns& ns, const net::IpAddress& addr, uint16_t port);
// Sends a datagram from `ns` to `addr`:`port` and waits (1 s) for it on `receiver`; returns the
// source address it came from, or nullopt.
std::optional<net::IpAddress> udp_exchange(ScratchNetns& ns, const net::IpAddress& addr, uint16_t port, int receiver);

net::IpAddress ip(const char* text);
net::Cidr cidr(const char* text);  // not strict: "10.0.0.1/24" is an interface address

}  // namespace tiffin::test
