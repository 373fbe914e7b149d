#include "net/scratch_netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "net/netns.hpp"
#include "net/sysctl.hpp"

namespace tiffin::test {
namespace {

socklen_t to_sockaddr(const net::IpAddress& addr, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (addr.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, addr.bytes(), 4);
    return sizeof *sin;
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, addr.bytes(), 16);
  return sizeof *sin6;
}

net::IpAddress from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET)
    return net::IpAddress::from_bytes(
        net::IpAddress::Family::v4, reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr));
  return net::IpAddress::from_bytes(
      net::IpAddress::Family::v6, reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr));
}

bool wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

int family_of(const net::IpAddress& a) { return a.is_v4() ? AF_INET : AF_INET6; }

}  // namespace

bool running_as_root() { return ::geteuid() == 0; }

net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }
net::Cidr cidr(const char* text) { return *net::Cidr::parse(text, false); }

ScratchNetns::ScratchNetns() : path_(dir_ / "netns") {
  // Left unmade (ok() false) without root: the test skips itself before using it.
  if (!running_as_root()) return;
  auto made = net::create_netns(path_);
  if (!made) {
    ADD_FAILURE() << made.error().message;
    return;
  }
  fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  auto nl = net::Netlink::open_in(path_);
  if (!nl) {
    ADD_FAILURE() << nl.error().message;
    return;
  }
  nl_.emplace(std::move(*nl));
}

ScratchNetns::~ScratchNetns() {
  nl_.reset();
  fd_.reset();
  // The namespace, with its links, goes when its last reference (this mount) does.
  (void)net::remove_netns(path_);
}

UniqueFd ScratchNetns::socket(int family, int type) {
  UniqueFd fd;
  auto ran = net::run_in_netns(path_, [&]() -> Result<void> {
    fd = UniqueFd(::socket(family, type | SOCK_CLOEXEC, 0));
    return {};
  });
  EXPECT_TRUE(ran && fd) << "a socket in " << path_;
  return fd;
}

std::string ScratchNetns::sh(const std::string& command) {
  std::string full = "nsenter --net=" + path_ + " sh -c '" + command + "' 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return "popen failed";
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

void ScratchNetns::sysctl(const std::string& key, const std::string& value) {
  auto done = net::run_in_netns(path_, [&] { return net::write_sysctl(key, value); });
  EXPECT_TRUE(done) << done.error().message;
}

UniqueFd tcp_listen(ScratchNetns& ns, const net::IpAddress& addr, uint16_t port) {
  UniqueFd fd = ns.socket(family_of(addr), SOCK_STREAM);
  int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(addr, port, ss);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0) << addr.str() << ": " << std::strerror(errno);
  EXPECT_EQ(::listen(fd.get(), 16), 0);
  return fd;
}

std::optional<net::IpAddress> tcp_exchange(ScratchNetns& ns, const net::IpAddress& addr, uint16_t port, int listener) {
  UniqueFd client = ns.socket(family_of(addr), SOCK_STREAM | SOCK_NONBLOCK);
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(addr, port, ss);
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) return std::nullopt;
  if (!wait_fd(client.get(), POLLOUT, 2000)) return std::nullopt;
  int err = 0;
  socklen_t errlen = sizeof err;
  ::getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &err, &errlen);
  if (err != 0) return std::nullopt;
  if (!wait_fd(listener, POLLIN, 2000)) return std::nullopt;
  sockaddr_storage peer;
  socklen_t peerlen = sizeof peer;
  UniqueFd conn(::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &peerlen, SOCK_CLOEXEC));
  if (!conn) return std::nullopt;
  // A byte each way: the connection carries data, not only a handshake.
  char c = 'x';
  if (::write(client.get(), &c, 1) != 1 || !wait_fd(conn.get(), POLLIN, 2000) || ::read(conn.get(), &c, 1) != 1) return std::nullopt;
  if (::write(conn.get(), &c, 1) != 1 || !wait_fd(client.get(), POLLIN, 2000) || ::read(client.get(), &c, 1) != 1) return std::nullopt;
  return from_sockaddr(peer);
}

UniqueFd udp_bind(ScratchNetns& ns, const net::IpAddress& addr, uint16_t port) {
  UniqueFd fd = ns.socket(family_of(addr), SOCK_DGRAM);
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(addr, port, ss);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0) << addr.str() << ": " << std::strerror(errno);
  return fd;
}

std::optional<net::IpAddress> udp_exchange(ScratchNetns& ns, const net::IpAddress& addr, uint16_t port, int receiver) {
  UniqueFd sender = ns.socket(family_of(addr), SOCK_DGRAM);
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(addr, port, ss);
  const char msg[] = "tiffin";
  if (::sendto(sender.get(), msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&ss), len) != sizeof msg) return std::nullopt;
  if (!wait_fd(receiver, POLLIN, 1000)) return std::nullopt;
  char buf[64];
  sockaddr_storage from;
  socklen_t fromlen = sizeof from;
  if (::recvfrom(receiver, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fromlen) != sizeof msg) return std::nullopt;
  return from_sockaddr(from);
}

}  // namespace tiffin::test
