#include "net/netlink.hpp"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include <linux/veth.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <vector>

#include "net/netns.hpp"

namespace tiffin::net {
namespace {

// Big enough for any single answer: the kernel never builds a dump message larger than the
// reader's buffer, capped at 32 KiB.
constexpr size_t kAnswerBuffer = 64 * 1024;
// Requests are small (a name, a few attributes).
constexpr size_t kRequestBuffer = 4096;

// A request under construction: a buffer with a netlink header and the family header after it.
struct Message {
  alignas(nlmsghdr) char buf[kRequestBuffer]{};
  nlmsghdr* nlh;
  template <class FamilyHeader>
  FamilyHeader* start(uint16_t type, uint16_t flags) {
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    return static_cast<FamilyHeader*>(mnl_nlmsg_put_extra_header(nlh, sizeof(FamilyHeader)));
  }
};

// Link names are at most IFNAMSIZ-1 bytes; the kernel's own refusal would not say which name.
Result<void> check_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find_first_of("/ \t\n:") != std::string::npos)
    return fail(Errc::invalid_input, "'" + name + "' is not a valid link name (1 to 15 characters, no '/', ':' or spaces)");
  return {};
}

// The text of an extended ACK (NETLINK_EXT_ACK), which often says which attribute was wrong.
std::string extack_message(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  unsigned offset = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  std::string text;
  mnl_attr_parse(
      nlh, offset,
      [](const nlattr* attr, void* data) {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
          *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
        return MNL_CB_OK;
      },
      &text);
  return text;
}

// The attributes of a link message, by type (IFLA_*); nullptr where absent.
std::vector<const nlattr*> link_attrs(const nlmsghdr* nlh) {
  std::vector<const nlattr*> attrs(IFLA_MAX + 1, nullptr);
  mnl_attr_parse(
      nlh, sizeof(ifinfomsg),
      [](const nlattr* attr, void* data) {
        auto& v = *static_cast<std::vector<const nlattr*>*>(data);
        if (mnl_attr_type_valid(attr, IFLA_MAX) > 0) v[mnl_attr_get_type(attr)] = attr;
        return MNL_CB_OK;
      },
      &attrs);
  return attrs;
}

void put_ip(nlmsghdr* nlh, uint16_t type, const IpAddress& a) { mnl_attr_put(nlh, type, a.size(), a.bytes()); }

// An RTM_NEWLINK that creates link `name` of `kind` (and fails if the name is taken); returns
// the open IFLA_LINKINFO nest, for the kind's own data, which the caller closes.
nlattr* start_new_link(Message& m, const std::string& name, unsigned mtu, const char* kind) {
  auto* ifi = m.start<ifinfomsg>(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
  if (mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, mtu);
  nlattr* info = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, kind);
  return info;
}

std::unexpected<Error> kernel_error(const std::string& what, int e, const std::string& detail) {
  auto err = fail_errno(what, e);
  // A missing link is "not found" for callers, whatever errno the kernel chose for it.
  if (e == ENODEV) err.error().kind = Errc::not_found;
  if (!detail.empty()) err.error().message += " (" + detail + ")";
  return err;
}

}  // namespace

void Netlink::Deleter::operator()(mnl_socket* s) const { mnl_socket_close(s); }

Netlink::Netlink(mnl_socket* sock) : sock_(sock) {}
Netlink::Netlink(Netlink&&) noexcept = default;
Netlink& Netlink::operator=(Netlink&&) noexcept = default;
Netlink::~Netlink() = default;

Result<Netlink> Netlink::open() {
  mnl_socket* raw = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!raw) return fail_errno("opening a netlink socket");
  Netlink nl(raw);
  if (mnl_socket_bind(raw, 0, MNL_SOCKET_AUTOPID) < 0) return fail_errno("binding a netlink socket");
  // Errors name the offending attribute (extended ACKs), and do not echo our request back.
  int on = 1;
  (void)mnl_socket_setsockopt(raw, NETLINK_EXT_ACK, &on, sizeof on);
  (void)mnl_socket_setsockopt(raw, NETLINK_CAP_ACK, &on, sizeof on);
  return nl;
}

Result<Netlink> Netlink::open_in(const std::string& netns_path) {
  Result<Netlink> opened = fail(Errc::internal, "not run");
  TRY(run_in_netns(netns_path, [&]() -> Result<void> {
    opened = open();
    return {};
  }));
  if (!opened) opened.error().context("in the network namespace " + netns_path);
  return opened;
}

Result<void> Netlink::transact(nlmsghdr* request, const std::string& what, const std::function<void(const nlmsghdr*)>& on_answer) {
  request->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  request->nlmsg_seq = ++seq_;
  for (;;) {
    if (mnl_socket_sendto(sock_.get(), request, request->nlmsg_len) >= 0) break;
    if (errno != EINTR) return fail_errno(what + ": sending to netlink");
  }
  std::vector<char> buf(kAnswerBuffer);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(what + ": reading netlink's answer");
    }
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      // An answer to an earlier request that was given up on (its reader failed) is skipped.
      if (nlh->nlmsg_seq != request->nlmsg_seq) continue;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) return fail(Errc::io, what + ": a truncated netlink error");
        int error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
        if (error == 0) return {};  // the ACK
        return kernel_error(what, -error, extack_message(nlh));
      }
      if (nlh->nlmsg_type == NLMSG_DONE) {  // the end of a dump, which may carry an error
        if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
          int error = *static_cast<const int*>(mnl_nlmsg_get_payload(nlh));
          if (error < 0) return kernel_error(what, -error, "");
        }
        return {};
      }
      if (nlh->nlmsg_type == NLMSG_NOOP) continue;
      if (on_answer) on_answer(nlh);
    }
  }
}

Result<void> Netlink::change_link(const std::string& ifname, const std::string& what, const std::function<void(nlmsghdr*)>& add_attrs) {
  TRY_CTX(check_name(ifname), what);
  Message m;
  auto* ifi = m.start<ifinfomsg>(RTM_SETLINK, 0);
  ifi->ifi_family = AF_UNSPEC;
  // ifi_index 0 with IFLA_IFNAME: the kernel finds the link by name.
  mnl_attr_put_strz(m.nlh, IFLA_IFNAME, ifname.c_str());
  add_attrs(m.nlh);
  return transact(m.nlh, what);
}

Result<void> Netlink::create_bridge(const std::string& name, unsigned mtu) {
  const std::string what = "creating bridge " + name;
  TRY_CTX(check_name(name), what);
  // A bridge takes the lowest MAC of its ports unless it was given one: containers coming and
  // going would change their gateway's MAC under their ARP caches. A MAC set at creation stays.
  std::array<uint8_t, 6> mac;
  if (::getrandom(mac.data(), mac.size(), 0) != static_cast<ssize_t>(mac.size())) return fail_errno(what + ": choosing a MAC address");
  mac[0] = (mac[0] & 0xfe) | 0x02;  // unicast, locally administered
  Message m;
  nlattr* info = start_new_link(m, name, mtu, "bridge");
  mnl_attr_nest_end(m.nlh, info);
  mnl_attr_put(m.nlh, IFLA_ADDRESS, mac.size(), mac.data());
  return transact(m.nlh, what);
}

Result<void> Netlink::create_veth(const std::string& host_name, const std::string& peer_name, int peer_netns_fd, unsigned mtu) {
  const std::string what = "creating veth pair " + host_name + "/" + peer_name;
  TRY_CTX(check_name(host_name), what);
  TRY_CTX(check_name(peer_name), what);
  Message m;
  nlattr* info = start_new_link(m, host_name, mtu, "veth");
  nlattr* data = mnl_attr_nest_start(m.nlh, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(m.nlh, VETH_INFO_PEER);
  // The peer's attributes follow an ifinfomsg of its own, inside the VETH_INFO_PEER attribute.
  auto* peer_ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(m.nlh));
  std::memset(peer_ifi, 0, sizeof *peer_ifi);
  m.nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
  mnl_attr_put_strz(m.nlh, IFLA_IFNAME, peer_name.c_str());
  if (peer_netns_fd >= 0) mnl_attr_put_u32(m.nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  if (mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, mtu);
  mnl_attr_nest_end(m.nlh, peer);
  mnl_attr_nest_end(m.nlh, data);
  mnl_attr_nest_end(m.nlh, info);
  return transact(m.nlh, what);
}

Result<void> Netlink::create_macvlan(const std::string& name, const std::string& parent, int netns_fd) {
  const std::string what = "creating macvlan " + name + " on " + parent;
  TRY_CTX(check_name(name), what);
  int parent_index = TRY_CTX(link_index(parent), what);
  Message m;
  nlattr* info = start_new_link(m, name, 0, "macvlan");
  nlattr* data = mnl_attr_nest_start(m.nlh, IFLA_INFO_DATA);
  mnl_attr_put_u32(m.nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
  mnl_attr_nest_end(m.nlh, data);
  mnl_attr_nest_end(m.nlh, info);
  mnl_attr_put_u32(m.nlh, IFLA_LINK, static_cast<uint32_t>(parent_index));
  if (netns_fd >= 0) mnl_attr_put_u32(m.nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  return transact(m.nlh, what);
}

Result<void> Netlink::create_wireguard(const std::string& name) {
  const std::string what = "creating WireGuard link " + name;
  TRY_CTX(check_name(name), what);
  Message m;
  nlattr* info = start_new_link(m, name, 0, "wireguard");
  mnl_attr_nest_end(m.nlh, info);
  auto made = transact(m.nlh, what);
  // No module for the kind: EOPNOTSUPP (the kernel could not load "rtnl-link-wireguard").
  if (!made && made.error().sys_errno == EOPNOTSUPP) made.error().kind = Errc::unsupported;
  return made;
}

Result<void> Netlink::move_to_netns(const std::string& ifname, int netns_fd) {
  return change_link(ifname, "moving " + ifname + " to another network namespace",
      [&](nlmsghdr* nlh) { mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd)); });
}

Result<void> Netlink::set_master(const std::string& ifname, const std::string& bridge) {
  const std::string what = "attaching " + ifname + " to bridge " + bridge;
  int bridge_index = TRY_CTX(link_index(bridge), what);
  return change_link(ifname, what, [&](nlmsghdr* nlh) { mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(bridge_index)); });
}

Result<void> Netlink::set_up(const std::string& ifname) {
  TRY_CTX(check_name(ifname), "setting " + ifname + " up");
  Message m;
  auto* ifi = m.start<ifinfomsg>(RTM_SETLINK, 0);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz(m.nlh, IFLA_IFNAME, ifname.c_str());
  return transact(m.nlh, "setting " + ifname + " up");
}

Result<void> Netlink::set_mtu(const std::string& ifname, unsigned mtu) {
  return change_link(
      ifname, "setting the MTU of " + ifname + " to " + std::to_string(mtu), [&](nlmsghdr* nlh) { mnl_attr_put_u32(nlh, IFLA_MTU, mtu); });
}

Result<void> Netlink::set_mac(const std::string& ifname, const std::array<uint8_t, 6>& mac) {
  return change_link(ifname, "setting the MAC address of " + ifname + " to " + format_mac(mac),
      [&](nlmsghdr* nlh) { mnl_attr_put(nlh, IFLA_ADDRESS, mac.size(), mac.data()); });
}

Result<void> Netlink::set_hairpin(const std::string& port_ifname, bool on) {
  const std::string what = std::string(on ? "enabling" : "disabling") + " hairpin mode on " + port_ifname;
  // The bridge's RTM_SETLINK (family AF_BRIDGE) finds the port by index only.
  int index = TRY_CTX(link_index(port_ifname), what);
  Message m;
  auto* ifi = m.start<ifinfomsg>(RTM_SETLINK, 0);
  ifi->ifi_family = AF_BRIDGE;
  ifi->ifi_index = index;
  nlattr* protinfo = mnl_attr_nest_start(m.nlh, IFLA_PROTINFO);
  // Without NLA_F_NESTED the bridge reads IFLA_PROTINFO as the old one-byte STP state.
  protinfo->nla_type |= NLA_F_NESTED;
  mnl_attr_put_u8(m.nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(m.nlh, protinfo);
  return transact(m.nlh, what);
}

Result<void> Netlink::add_address(const std::string& ifname, const Cidr& address) {
  const std::string what = "adding address " + address.str() + " to " + ifname;
  int index = TRY_CTX(link_index(ifname), what);
  Message m;
  auto* ifa = m.start<ifaddrmsg>(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifa->ifa_family = address.address().is_v4() ? AF_INET : AF_INET6;
  ifa->ifa_prefixlen = static_cast<uint8_t>(address.prefix());
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(index);
  // An IPv6 address waits out duplicate address detection (a second or more) before it can be
  // used; the addresses tiffin gives out are unique by IPAM, so it skips that.
  if (!address.address().is_v4()) ifa->ifa_flags = IFA_F_NODAD;
  const IpAddress& a = address.address();
  put_ip(m.nlh, IFA_LOCAL, a);
  put_ip(m.nlh, IFA_ADDRESS, a);
  if (a.is_v4() && address.prefix() < 31) put_ip(m.nlh, IFA_BROADCAST, address.last());
  return transact(m.nlh, what);
}

Result<void> Netlink::add_route(const Cidr& dst, const IpAddress& gateway, const std::string& ifname) {
  std::string what = "adding a route to " + dst.str();
  if (!gateway.is_unspecified()) what += " via " + gateway.str();
  what += " on " + ifname;
  if (!gateway.is_unspecified() && gateway.family() != dst.family())
    return fail(Errc::invalid_input, what + ": the gateway's address family differs from the destination's");
  int index = TRY_CTX(link_index(ifname), what);
  Message m;
  auto* rtm = m.start<rtmsg>(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtm->rtm_family = dst.address().is_v4() ? AF_INET : AF_INET6;
  rtm->rtm_dst_len = static_cast<uint8_t>(dst.prefix());
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_STATIC;
  rtm->rtm_type = RTN_UNICAST;
  rtm->rtm_scope = gateway.is_unspecified() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  if (dst.prefix() > 0) put_ip(m.nlh, RTA_DST, dst.network());
  if (!gateway.is_unspecified()) put_ip(m.nlh, RTA_GATEWAY, gateway);
  mnl_attr_put_u32(m.nlh, RTA_OIF, static_cast<uint32_t>(index));
  return transact(m.nlh, what);
}

Result<void> Netlink::add_default_route(const IpAddress& gateway, const std::string& ifname) {
  IpAddress any = gateway.is_v4() ? IpAddress::v4(0) : IpAddress::from_bytes(IpAddress::Family::v6, std::array<uint8_t, 16>{}.data());
  return add_route(Cidr(any, 0), gateway, ifname);
}

Result<std::vector<Cidr>> Netlink::addresses(const std::string& ifname, int family, bool global_only) {
  const std::string what = "listing the addresses of " + ifname;
  int index = TRY_CTX(link_index(ifname), what);
  Message m;
  auto* ifa = m.start<ifaddrmsg>(RTM_GETADDR, NLM_F_DUMP);
  ifa->ifa_family = static_cast<uint8_t>(family);
  std::vector<Cidr> out;
  TRY(transact(m.nlh, what, [&](const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != RTM_NEWADDR) return;
    auto* msg = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    if (static_cast<int>(msg->ifa_index) != index || msg->ifa_family != family) return;
    if (global_only && (msg->ifa_scope != RT_SCOPE_UNIVERSE || (msg->ifa_flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))) return;
    const nlattr* addr = nullptr;
    auto* payload = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(ifaddrmsg)));
    int left = static_cast<int>(reinterpret_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh)) - payload);
    for (auto* attr = reinterpret_cast<const nlattr*>(payload); mnl_attr_ok(attr, left); attr = mnl_attr_next(attr)) {
      left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
      if (mnl_attr_get_type(attr) == IFA_ADDRESS) addr = attr;
    }
    size_t len = family == AF_INET ? 4 : 16;
    if (!addr || mnl_attr_get_payload_len(addr) != len) return;
    auto ip = IpAddress::from_bytes(
        family == AF_INET ? IpAddress::Family::v4 : IpAddress::Family::v6, static_cast<const uint8_t*>(mnl_attr_get_payload(addr)));
    out.emplace_back(ip, msg->ifa_prefixlen);
  }));
  return out;
}

Result<void> Netlink::delete_link(const std::string& name) {
  const std::string what = "deleting link " + name;
  TRY_CTX(check_name(name), what);
  Message m;
  auto* ifi = m.start<ifinfomsg>(RTM_DELLINK, 0);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
  auto done = transact(m.nlh, what);
  if (!done && done.error().sys_errno == ENODEV) return {};
  return done;
}

Result<void> Netlink::query_link(const std::string& name, const std::string& what, const std::function<void(const nlmsghdr*)>& on_link) {
  TRY_CTX(check_name(name), what);
  Message m;
  auto* ifi = m.start<ifinfomsg>(RTM_GETLINK, 0);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
  bool answered = false;
  TRY(transact(m.nlh, what, [&](const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != RTM_NEWLINK) return;
    answered = true;
    on_link(nlh);
  }));
  if (!answered) return fail(Errc::io, what + ": the kernel sent no link");
  return {};
}

Result<int> Netlink::link_index(const std::string& name) {
  int index = 0;
  TRY(query_link(name, "looking up link " + name,
      [&](const nlmsghdr* nlh) { index = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh))->ifi_index; }));
  return index;
}

Result<bool> Netlink::link_exists(const std::string& name) {
  auto index = link_index(name);
  if (index) return true;
  if (index.error().kind == Errc::not_found) return false;
  return std::unexpected(index.error());
}

Result<std::vector<std::string>> Netlink::link_names() {
  Message m;
  auto* ifi = m.start<ifinfomsg>(RTM_GETLINK, NLM_F_DUMP);
  ifi->ifi_family = AF_UNSPEC;
  std::vector<std::string> names;
  TRY(transact(m.nlh, "listing links", [&](const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != RTM_NEWLINK) return;
    auto attrs = link_attrs(nlh);
    if (const nlattr* name = attrs[IFLA_IFNAME]; name && mnl_attr_validate(name, MNL_TYPE_NUL_STRING) == 0)
      names.emplace_back(mnl_attr_get_str(name));
  }));
  return names;
}

Result<LinkStats> Netlink::link_stats(const std::string& ifname) {
  const std::string what = "reading the counters of " + ifname;
  std::optional<LinkStats> stats;
  TRY(query_link(ifname, what, [&](const nlmsghdr* nlh) {
    auto attrs = link_attrs(nlh);
    const nlattr* a = attrs[IFLA_STATS64];
    if (!a || mnl_attr_get_payload_len(a) < sizeof(rtnl_link_stats64)) return;
    rtnl_link_stats64 s;
    std::memcpy(&s, mnl_attr_get_payload(a), sizeof s);  // attributes are only 4-byte aligned
    stats = LinkStats{s.rx_bytes, s.rx_packets, s.tx_bytes, s.tx_packets};
  }));
  if (!stats) return fail(Errc::io, what + ": the kernel sent no IFLA_STATS64");
  return *stats;
}

Result<std::array<uint8_t, 6>> Netlink::get_mac(const std::string& ifname) {
  const std::string what = "reading the MAC address of " + ifname;
  std::optional<std::array<uint8_t, 6>> mac;
  TRY(query_link(ifname, what, [&](const nlmsghdr* nlh) {
    auto attrs = link_attrs(nlh);
    const nlattr* a = attrs[IFLA_ADDRESS];
    if (!a || mnl_attr_get_payload_len(a) != 6) return;
    mac.emplace();
    std::memcpy(mac->data(), mnl_attr_get_payload(a), 6);
  }));
  if (!mac) return fail(Errc::invalid_input, what + ": it has no Ethernet address");
  return *mac;
}

}  // namespace tiffin::net
