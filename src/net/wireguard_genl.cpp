#include "net/wireguard_genl.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>

#include "net/netns.hpp"

namespace tiffin::net {
namespace {

constexpr size_t kMessageLimit = 64 * 1024;

struct SocketCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using GenlSocket = std::unique_ptr<mnl_socket, SocketCloser>;

void put_endpoint(nlmsghdr* nlh, const WgEndpoint& e) {
  if (e.address.is_v4()) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(e.port);
    std::memcpy(&a.sin_addr, e.address.bytes(), 4);
    mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof a, &a);
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(e.port);
    std::memcpy(&a.sin6_addr, e.address.bytes(), 16);
    mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof a, &a);
  }
}

std::optional<WgEndpoint> read_endpoint(const nlattr* a) {
  size_t len = mnl_attr_get_payload_len(a);
  const void* p = mnl_attr_get_payload(a);
  if (len >= sizeof(sockaddr_in6) && static_cast<const sockaddr*>(p)->sa_family == AF_INET6) {
    sockaddr_in6 s;
    std::memcpy(&s, p, sizeof s);
    return WgEndpoint{IpAddress::from_bytes(IpAddress::Family::v6, s.sin6_addr.s6_addr), ntohs(s.sin6_port)};
  }
  if (len >= sizeof(sockaddr_in) && static_cast<const sockaddr*>(p)->sa_family == AF_INET) {
    sockaddr_in s;
    std::memcpy(&s, p, sizeof s);
    return WgEndpoint{IpAddress::from_bytes(IpAddress::Family::v4, reinterpret_cast<const uint8_t*>(&s.sin_addr)), ntohs(s.sin_port)};
  }
  return std::nullopt;
}

// libmnl's iteration macros assign void* to the attribute: not C++. The same walk, typed.
template <class Fn>
void for_each_attr_in(const void* start, const void* end, Fn fn) {
  int left = static_cast<int>(static_cast<const char*>(end) - static_cast<const char*>(start));
  for (auto* a = static_cast<const nlattr*>(start); mnl_attr_ok(a, left); a = mnl_attr_next(a)) {
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    fn(a);
  }
}
template <class Fn>
void for_each_attr(const nlattr* nest, Fn fn) {
  auto* start = static_cast<const char*>(mnl_attr_get_payload(nest));
  for_each_attr_in(start, start + mnl_attr_get_payload_len(nest), fn);
}
// The attributes after a generic netlink message's genlmsghdr.
template <class Fn>
void for_each_genl_attr(const nlmsghdr* nlh, Fn fn) {
  for_each_attr_in(mnl_nlmsg_get_payload_offset(nlh, sizeof(genlmsghdr)), mnl_nlmsg_get_payload_tail(nlh), fn);
}

Result<GenlSocket> open_socket(const std::string& netns_path) {
  GenlSocket sock;
  auto open = [&]() -> Result<void> {
    sock.reset(mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC));
    if (!sock) return fail_errno("opening a generic netlink socket");
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) return fail_errno("binding a generic netlink socket");
    return {};
  };
  if (netns_path.empty()) TRY(open());
  else TRY(run_in_netns(netns_path, open));
  return sock;
}

// Sends one request and collects every answer until the ACK or the dump's end; a kernel error
// becomes `what`: strerror.
Result<std::vector<std::vector<uint8_t>>> transact(mnl_socket* sock, const std::vector<uint8_t>& request, const std::string& what) {
  if (mnl_socket_sendto(sock, request.data(), request.size()) < 0) return fail_errno(what);
  const auto* sent = reinterpret_cast<const nlmsghdr*>(request.data());
  std::vector<std::vector<uint8_t>> answers;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE > 65536 ? MNL_SOCKET_BUFFER_SIZE : 65536);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(what);
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_seq != sent->nlmsg_seq) continue;
      if (nlh->nlmsg_type == NLMSG_DONE) {
        // A dump's error comes in its DONE message: an int after the header.
        int e = 0;
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) std::memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof e);
        if (e < 0) return fail_errno(what, -e);
        return answers;
      }
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        int e = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
        if (e == 0) return answers;  // the ACK
        auto err = fail_errno(what, e);
        if (e == ENODEV) err.error().kind = Errc::not_found;
        return err;
      }
      auto* bytes = reinterpret_cast<const uint8_t*>(nlh);
      answers.emplace_back(bytes, bytes + nlh->nlmsg_len);
    }
  }
}

// A generic netlink request's headers at the start of `m`.
nlmsghdr* start_request(std::vector<uint8_t>& m, uint16_t family, uint16_t flags, uint32_t seq, uint8_t cmd, uint8_t version) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(m.data());
  nlh->nlmsg_type = family;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
  g->cmd = cmd;
  g->version = version;
  return nlh;
}

Result<uint16_t> family_id(mnl_socket* sock) {
  std::vector<uint8_t> m(512);
  nlmsghdr* nlh = start_request(m, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, 1, CTRL_CMD_GETFAMILY, 1);
  mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
  m.resize(nlh->nlmsg_len);
  auto answers = transact(sock, m, "looking up the wireguard netlink family");
  if (!answers && answers.error().sys_errno == ENOENT)
    return fail(Errc::unsupported, "the kernel has no WireGuard module (no \"wireguard\" netlink family)");
  for (const auto& a : TRY(answers)) {
    std::optional<uint16_t> id;
    for_each_genl_attr(reinterpret_cast<const nlmsghdr*>(a.data()), [&](const nlattr* attr) {
      if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID) id = mnl_attr_get_u16(attr);
    });
    if (id) return *id;
  }
  return fail(Errc::io, "the kernel named no id for the wireguard netlink family");
}

}  // namespace

Result<std::vector<uint8_t>> wg_genl_set_message(
    uint16_t family, uint32_t seq, const std::string& ifname, const WgDeviceConfig& config, const WgDeviceStatus* current) {
  std::vector<uint8_t> m(kMessageLimit);
  nlmsghdr* nlh = start_request(m, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
  // Room for what follows each attribute is checked as it is added: the _check forms refuse
  // (return nullptr / false) rather than write past the buffer.
  const size_t limit = m.size();
  bool fits = mnl_attr_put_strz_check(nlh, limit, WGDEVICE_A_IFNAME, ifname.c_str());
  if (!current) {
    fits = fits && mnl_attr_put_check(nlh, limit, WGDEVICE_A_PRIVATE_KEY, config.private_key.size(), config.private_key.data());
    fits = fits && mnl_attr_put_u16_check(nlh, limit, WGDEVICE_A_LISTEN_PORT, config.listen_port);
    fits = fits && mnl_attr_put_u32_check(nlh, limit, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
  }
  nlattr* peers = fits ? mnl_attr_nest_start_check(nlh, limit, WGDEVICE_A_PEERS) : nullptr;
  fits = fits && peers;
  if (current)
    for (const auto& gone : peers_gone(config, *current)) {
      if (!fits) break;
      nlattr* peer = mnl_attr_nest_start_check(nlh, limit, 0);
      fits = peer && mnl_attr_put_check(nlh, limit, WGPEER_A_PUBLIC_KEY, gone.size(), gone.data()) &&
             mnl_attr_put_u32_check(nlh, limit, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
      if (fits) mnl_attr_nest_end(nlh, peer);
    }
  for (const auto& p : config.peers) {
    if (!fits) break;
    nlattr* peer = mnl_attr_nest_start_check(nlh, limit, 0);
    fits = peer && mnl_attr_put_check(nlh, limit, WGPEER_A_PUBLIC_KEY, p.public_key.size(), p.public_key.data()) &&
           mnl_attr_put_u32_check(nlh, limit, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS) &&
           mnl_attr_put_u16_check(nlh, limit, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, static_cast<uint16_t>(p.keepalive_seconds));
    if (fits && p.endpoint) {
      fits = nlh->nlmsg_len + MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(sockaddr_in6)) <= limit;
      if (fits) put_endpoint(nlh, *p.endpoint);
    }
    nlattr* ips = fits ? mnl_attr_nest_start_check(nlh, limit, WGPEER_A_ALLOWEDIPS) : nullptr;
    fits = fits && ips;
    for (const auto& a : p.allowed_ips) {
      if (!fits) break;
      nlattr* ip = mnl_attr_nest_start_check(nlh, limit, 0);
      fits = ip && mnl_attr_put_u16_check(nlh, limit, WGALLOWEDIP_A_FAMILY, a.address().is_v4() ? AF_INET : AF_INET6) &&
             mnl_attr_put_check(nlh, limit, WGALLOWEDIP_A_IPADDR, a.address().size(), a.network().bytes()) &&
             mnl_attr_put_u8_check(nlh, limit, WGALLOWEDIP_A_CIDR_MASK, static_cast<uint8_t>(a.prefix()));
      if (fits) mnl_attr_nest_end(nlh, ip);
    }
    if (fits) mnl_attr_nest_end(nlh, ips);
    if (fits) mnl_attr_nest_end(nlh, peer);
  }
  if (fits) mnl_attr_nest_end(nlh, peers);
  if (!fits) return fail(Errc::invalid_input, "configuring WireGuard link " + ifname + ": the peers do not fit in one netlink message");
  m.resize(nlh->nlmsg_len);
  return m;
}

Result<WgDeviceStatus> parse_wg_genl_device(std::span<const std::vector<uint8_t>> messages) {
  WgDeviceStatus st;
  for (const auto& m : messages) {
    auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
    if (m.size() < sizeof(nlmsghdr) + sizeof(genlmsghdr) || nlh->nlmsg_len > m.size())
      return fail(Errc::io, "a WireGuard netlink answer is cut short");
    for_each_genl_attr(nlh, [&](const nlattr* attr) {
      switch (mnl_attr_get_type(attr)) {
        case WGDEVICE_A_LISTEN_PORT: st.listen_port = mnl_attr_get_u16(attr); break;
        case WGDEVICE_A_PEERS:
          for_each_attr(attr, [&](const nlattr* peer) {
            WgPeerStatus p;
            bool has_key = false;
            for_each_attr(peer, [&](const nlattr* a) {
              switch (mnl_attr_get_type(a)) {
                case WGPEER_A_PUBLIC_KEY:
                  if (mnl_attr_get_payload_len(a) == p.public_key.size()) {
                    std::memcpy(p.public_key.data(), mnl_attr_get_payload(a), p.public_key.size());
                    has_key = true;
                  }
                  break;
                case WGPEER_A_ENDPOINT: p.endpoint = read_endpoint(a); break;
                case WGPEER_A_LAST_HANDSHAKE_TIME:
                  if (mnl_attr_get_payload_len(a) >= sizeof(__kernel_timespec)) {
                    __kernel_timespec t;
                    std::memcpy(&t, mnl_attr_get_payload(a), sizeof t);
                    p.last_handshake_sec = t.tv_sec;
                  }
                  break;
                case WGPEER_A_RX_BYTES: p.rx_bytes = mnl_attr_get_u64(a); break;
                case WGPEER_A_TX_BYTES: p.tx_bytes = mnl_attr_get_u64(a); break;
                case WGPEER_A_ALLOWEDIPS:
                  for_each_attr(a, [&](const nlattr* ip) {
                    int family = 0;
                    const nlattr* addr = nullptr;
                    unsigned mask = 0;
                    for_each_attr(ip, [&](const nlattr* f) {
                      if (mnl_attr_get_type(f) == WGALLOWEDIP_A_FAMILY) family = mnl_attr_get_u16(f);
                      if (mnl_attr_get_type(f) == WGALLOWEDIP_A_IPADDR) addr = f;
                      if (mnl_attr_get_type(f) == WGALLOWEDIP_A_CIDR_MASK) mask = mnl_attr_get_u8(f);
                    });
                    size_t len = family == AF_INET ? 4 : 16;
                    if (!addr || (family != AF_INET && family != AF_INET6) || mnl_attr_get_payload_len(addr) < len) return;
                    p.allowed_ips.emplace_back(IpAddress::from_bytes(family == AF_INET ? IpAddress::Family::v4 : IpAddress::Family::v6,
                                                   static_cast<const uint8_t*>(mnl_attr_get_payload(addr))),
                        mask);
                  });
                  break;
              }
            });
            if (!has_key) return;
            // A peer cut at the end of one message goes on, same key, in the next.
            if (!st.peers.empty() && st.peers.back().public_key == p.public_key) {
              auto& last = st.peers.back().allowed_ips;
              last.insert(last.end(), p.allowed_ips.begin(), p.allowed_ips.end());
            } else {
              st.peers.push_back(std::move(p));
            }
          });
          break;
      }
    });
  }
  return st;
}

Result<void> wg_genl_set(
    const std::string& netns_path, const std::string& ifname, const WgDeviceConfig& config, const WgDeviceStatus* current) {
  auto sock = TRY(open_socket(netns_path));
  uint16_t family = TRY(family_id(sock.get()));
  auto request = TRY(wg_genl_set_message(family, 2, ifname, config, current));
  TRY(transact(sock.get(), request, "configuring WireGuard link " + ifname));
  return {};
}

Result<WgDeviceStatus> wg_genl_get(const std::string& netns_path, const std::string& ifname) {
  auto sock = TRY(open_socket(netns_path));
  uint16_t family = TRY(family_id(sock.get()));
  std::vector<uint8_t> m(256);
  nlmsghdr* nlh = start_request(m, family, NLM_F_REQUEST | NLM_F_DUMP, 3, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
  mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname.c_str());
  m.resize(nlh->nlmsg_len);
  auto answers = TRY(transact(sock.get(), m, "reading WireGuard link " + ifname));
  return parse_wg_genl_device(answers);
}

}  // namespace tiffin::net
