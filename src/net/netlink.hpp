// Links, addresses and routes through rtnetlink (NETLINK_ROUTE, libmnl): what the engine needs to
// give a container a network — a bridge per network, a veth pair whose peer is born inside the
// container's namespace, addresses, routes, MTU, hairpin on the bridge port — and to read back
// what is there (names for cleanup checks, MACs, byte counters for `stats`).
//
// A netlink socket acts in the network namespace it was created in for its whole life, so a
// Netlink made by open_in() works on that namespace from any thread; the process never moves.
// Every request is synchronous: it asks for an ACK, reads until the ACK (or the end of a dump)
// with its own sequence number, and turns a kernel error into an Error that names the link
// ("creating bridge tfbr0: File exists"; EEXIST is Errc::conflict, ENODEV Errc::not_found).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/address.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace tiffin::net {

struct LinkStats {
  uint64_t rx_bytes = 0, rx_packets = 0, tx_bytes = 0, tx_packets = 0;
};

class Netlink {
 public:
  // A socket in the calling thread's network namespace.
  static Result<Netlink> open();
  // A socket in the namespace at `netns_path` (a mounted netns or /proc/<pid>/ns/net), made on a
  // short-lived thread that joined it.
  static Result<Netlink> open_in(const std::string& netns_path);

  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // A new bridge (down; mtu 0 keeps the kernel's default) with a random locally administered MAC
  // of its own, which it keeps as ports come and go. Errc::conflict if the name is taken.
  // Set net/ipv6/conf/<name>/accept_dad to 0 before it comes up: while the bridge's link-local
  // address is tentative (a second or two), the host cannot resolve containers' IPv6 addresses,
  // and connections it forwards to a new container (published ports) stall.
  Result<void> create_bridge(const std::string& name, unsigned mtu = 0);
  // A veth pair: `host_name` here, `peer_name` created directly in the namespace `peer_netns_fd`
  // refers to (so the peer may be called eth0 even if this namespace has one). Both down.
  Result<void> create_veth(const std::string& host_name, const std::string& peer_name, int peer_netns_fd, unsigned mtu = 0);
  // A macvlan link in bridge mode on `parent` (here), created directly in the namespace
  // `netns_fd` refers to (or here with -1). Down.
  Result<void> create_macvlan(const std::string& name, const std::string& parent, int netns_fd);
  // A WireGuard link (the kernel's module). Errc::unsupported when the kernel has no such kind:
  // the caller falls back to a userspace implementation over TUN.
  Result<void> create_wireguard(const std::string& name);
  // Moves `ifname` into the namespace `netns_fd` refers to (its addresses and routes are lost).
  Result<void> move_to_netns(const std::string& ifname, int netns_fd);
  // Enslaves `ifname` to the bridge `bridge`.
  Result<void> set_master(const std::string& ifname, const std::string& bridge);
  Result<void> set_up(const std::string& ifname);
  Result<void> set_mtu(const std::string& ifname, unsigned mtu);
  Result<void> set_mac(const std::string& ifname, const std::array<uint8_t, 6>& mac);
  // Hairpin mode on a bridge port: frames may leave by the port they came in on. Docker sets it
  // so a container can reach itself through a published port (DNAT back to its own address)
  // also where bridged frames pass through netfilter (br_netfilter).
  Result<void> set_hairpin(const std::string& port_ifname, bool on);

  // Adds `address` ("10.88.0.1/16": the address and its prefix) to `ifname`. IPv6 addresses skip
  // duplicate address detection (IFA_F_NODAD) so they are usable at once. Errc::conflict if the
  // link has it already.
  Result<void> add_address(const std::string& ifname, const Cidr& address);
  // A route to `dst` through `gateway` on `ifname`; an unspecified gateway (0.0.0.0 or ::) makes
  // a directly connected (link-scope) route. The default route is dst 0.0.0.0/0 or ::/0.
  Result<void> add_route(const Cidr& dst, const IpAddress& gateway, const std::string& ifname);
  Result<void> add_default_route(const IpAddress& gateway, const std::string& ifname);

  // The addresses on `ifname` of one family (AF_INET or AF_INET6), with their prefixes, in the
  // kernel's order; `global_only` leaves out link-local and tentative ones.
  Result<std::vector<Cidr>> addresses(const std::string& ifname, int family, bool global_only);

  // Removes a link (a veth takes its peer with it); a link that is not there is not an error.
  Result<void> delete_link(const std::string& name);
  Result<bool> link_exists(const std::string& name);
  // Every link's name in this namespace.
  Result<std::vector<std::string>> link_names();
  Result<int> link_index(const std::string& name);
  Result<LinkStats> link_stats(const std::string& ifname);
  Result<std::array<uint8_t, 6>> get_mac(const std::string& ifname);

 private:
  explicit Netlink(mnl_socket* sock);
  // Sends `request` (its flags gain NLM_F_ACK, its seq is set) and hands every answer to
  // `on_answer` until the ACK or the end of a dump; a kernel error becomes `what`: strerror.
  Result<void> transact(nlmsghdr* request, const std::string& what, const std::function<void(const nlmsghdr*)>& on_answer = {});
  // Asks for one link by name; `on_link` sees the kernel's RTM_NEWLINK answer.
  Result<void> query_link(const std::string& name, const std::string& what, const std::function<void(const nlmsghdr*)>& on_link);
  Result<void> change_link(const std::string& ifname, const std::string& what, const std::function<void(nlmsghdr*)>& add_attrs);

  struct Deleter {
    void operator()(mnl_socket* s) const;
  };
  std::unique_ptr<mnl_socket, Deleter> sock_;
  uint32_t seq_ = 0;
};

}  // namespace tiffin::net
