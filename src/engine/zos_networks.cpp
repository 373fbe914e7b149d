// Zero-OS network resources in the kernel, laid out as Zero-OS lays them out:
//
//   container eth0 ─┐                     resource namespace (<run-root>/netns/nr-<id>)
//   container eth0 ─┤ bridge b-<h> ── r-<h> ═ nr      .1/24, the /64 ULA ::1   (the gateway)
//                   │                         w-<h>   100.64.<b2>.<b3>/16, the /16 routed here
//                   │  ndmz bridge ──── p-<h> ═ public  100.127.x.y/16, default route, masquerade
//   wireguard-go (UDP in the node's namespace) ⇄ w-<h>
//
// The containers' gateway lives in the resource's namespace, not on the node: the node only
// switches their frames. Traffic for the rest of the /16 goes through the WireGuard interface to
// the peer whose allowed IPs hold it; traffic for anywhere else leaves masqueraded through
// `public` and the ndmz bridge, which the node's own table masquerades again (as any bridge
// network's). Nothing that arrives through `public` starts a connection (zos_nr_ruleset).
//
// The WireGuard link is made in the node's namespace, so its UDP socket is the node's, and moved
// into the resource's namespace before it is up: the kernel's module where there is one
// (configured over generic netlink), else wireguard-go over TUN (configured over its UAPI
// socket; it sees its link come up by writing to it, which works across namespaces).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <thread>

#include "common/fd.hpp"
#include "common/hex.hpp"
#include "dns/resolver_control.hpp"
#include "engine/engine.hpp"
#include "net/netlink.hpp"
#include "net/netns.hpp"
#include "net/nftables.hpp"
#include "net/sysctl.hpp"
#include "net/wireguard_genl.hpp"
#include "net/wireguard_go.hpp"

namespace tiffin::engine {
namespace {

// A route that is there already is no error: every step runs again on repair.
Result<void> add_route_once(net::Netlink& nl, const net::Cidr& dst, const net::IpAddress& via, const std::string& dev) {
  auto added = nl.add_route(dst, via, dev);
  if (!added && added.error().kind == Errc::conflict) return {};
  if (!added && added.error().sys_errno == EEXIST) return {};
  return added;
}

Result<void> add_address_once(net::Netlink& nl, const std::string& dev, const net::Cidr& a) {
  auto added = nl.add_address(dev, a);
  if (!added && added.error().kind != Errc::conflict) return added;
  return {};
}

net::IpAddress unspecified(bool v4) {
  return v4 ? net::IpAddress::v4(0) : net::IpAddress::from_bytes(net::IpAddress::Family::v6, std::array<uint8_t, 16>{}.data());
}

net::WgDeviceConfig device_config(const ZosNetworkRecord& z, const net::WgKey& private_key) {
  net::WgDeviceConfig d;
  d.private_key = private_key;
  d.listen_port = z.spec.listen_port;
  for (const auto& p : z.spec.peers) {
    // Keepalives keep the NAT and firewall state of a path open, so a peer behind one stays
    // reachable when nothing is sent for a while (Zero-OS sets 20 s for hidden nodes).
    d.peers.push_back({p.public_key, p.endpoint, p.allowed_ips, 20});
  }
  return d;
}

// Routes through WireGuard for the peers' allowed IPs outside the /16 (a user's access point,
// another network's range); those inside it are covered by the /16's route.
Result<void> add_peer_routes(net::Netlink& inside, const net::ZosNetworkSpec& spec, const std::string& wg) {
  for (const auto& p : spec.peers)
    for (const auto& a : p.allowed_ips)
      if (!spec.ip_range.contains(a) && !net::zos_wg_address(spec.subnet).contains(a))
        TRY(add_route_once(inside, a, unspecified(a.address().is_v4()), wg));
  return {};
}

// The interface's WireGuard, whichever serves it: wireguard-go over its UAPI socket, or the
// kernel's module over generic netlink in the resource's namespace.
Result<net::WgDeviceStatus> wg_status(const std::string& nr, const std::string& ifname) {
  auto userspace = net::uapi_get(ifname);
  if (userspace || userspace.error().kind != Errc::unavailable) return userspace;
  if (auto kernel = net::wg_genl_get(nr, ifname)) return kernel;
  return userspace;  // its error says what is missing
}

Result<void> wg_configure(
    const std::string& nr, const std::string& ifname, const net::WgDeviceConfig& c, const net::WgDeviceStatus* current) {
  if (net::wireguard_go_alive(ifname)) return net::uapi_set(ifname, c, current);
  return net::wg_genl_set(nr, ifname, c, current);
}

// Whether the link in the resource's namespace is served: wireguard-go's link dies with its
// process, the module's does not, and answers over netlink.
bool wg_alive(net::Netlink& inside, const std::string& nr, const std::string& ifname) {
  auto there = inside.link_exists(ifname);
  return there && *there && (net::wireguard_go_alive(ifname) || net::wg_genl_get(nr, ifname));
}

}  // namespace

net::ZosLinkNames Engine::zos_names(const std::string& net_id) const { return net::zos_link_names(opts_.root + "\n" + net_id); }

Result<UniqueFd> Engine::lock_zos_interface(const std::string& wg) {
  std::string dir = opts_.run_root + "/wireguard";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + dir);
  return lock_file(dir + "/" + wg + ".lock");
}

std::string Engine::zos_ndmz_bridge() const { return "nd-" + net::zos_link_names(opts_.root).bridge.substr(2); }

Result<Network> Engine::create_zos_network(const net::ZosNetworkSpec& spec) {
  TRY(net::validate_zos_network(spec));
  if (spec.public_key_b64.empty()) return fail(Errc::invalid_input, "the network's WireGuard public key is missing");
  if (!TRY(ZosNetworkStore(db_).network_of(spec.net_id)).empty())
    return fail(Errc::conflict, "a network with Zero-OS network id " + spec.net_id + " already exists on this node");
  NetworkSpec ns;
  ns.name = spec.name;
  ns.driver = "zos";
  ns.bridge = zos_names(spec.net_id).bridge;
  ns.subnet = spec.subnet.str();
  ns.ipv6 = true;
  ns.subnet6 = net::zos_ula_subnet(spec.net_id, spec.subnet).str();
  ns.gateway6 = net::zos_ula(spec.net_id, spec.subnet.network().plus(1)).str();
  Network n = TRY(NetworkStore(db_).create(ns, {}));
  auto made = [&]() -> Result<void> {
    TRY(ZosNetworkStore(db_).add(n.id, spec));
    std::string dir = opts_.root + "/networks";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + dir);
    TRY(write_file_atomic(zos_key_path(n.id), to_hex(std::span<const uint8_t>(spec.private_key.data(), 32)), 0600));
    TRY(ensure_zos_resource(n));
    return sync_firewall();
  }();
  if (!made) {
    (void)remove_network(n.id);
    return std::unexpected(std::move(made).error().context("creating Zero-OS network " + n.name));
  }
  record_event({"network", "create", n.id, {{"name", n.name}, {"type", "zos"}}});
  return n;
}

Result<void> Engine::ensure_zos_resource(const Network& n) {
  ZosNetworkRecord z = TRY(ZosNetworkStore(db_).get(n.id));
  net::ZosLinkNames names = zos_names(z.spec.net_id);
  std::string ndmz = zos_ndmz_bridge();
  std::string nr = zos_netns_path(n.id);
  auto host = TRY(net::Netlink::open());
  // Every container that joins comes here: when everything is in place, a few lookups only.
  if (net::netns_mounted(nr) && TRY(host.link_exists(n.bridge)) && TRY(host.link_exists(ndmz))) {
    auto inside = TRY(net::Netlink::open_in(nr));
    if (TRY(inside.link_exists(net::kZosNrLink)) && TRY(inside.link_exists(net::kZosPublicLink)) && wg_alive(inside, nr, names.wireguard))
      return {};
  }
  // Two CLIs that find it broken at once (a container joining, system boot) must not both start
  // a wireguard-go: the second would stop the first's.
  auto lock = TRY(lock_zos_interface(names.wireguard));
  TRY(net::write_sysctl("net/ipv4/ip_forward", "1"));
  // The node's side of every resource's way out.
  if (!TRY(host.link_exists(ndmz))) {
    auto made = host.create_bridge(ndmz);
    if (!made && made.error().kind != Errc::conflict) return made;
  }
  TRY(add_address_once(host, ndmz, net::Cidr(net::kZosNdmzGateway, net::kZosNdmzSubnet.prefix())));
  TRY(host.set_up(ndmz));
  // The containers' bridge: frames only, no address of the node's on it (Zero-OS turns IPv6 off
  // there, so the node does not even get a link-local address on the private network).
  if (!TRY(host.link_exists(n.bridge))) {
    auto made = host.create_bridge(n.bridge);
    if (!made && made.error().kind != Errc::conflict) return made;
  }
  (void)net::write_sysctl("net/ipv6/conf/" + n.bridge + "/disable_ipv6", "1");
  TRY(host.set_up(n.bridge));

  if (!net::netns_mounted(nr)) TRY(net::create_netns(nr));
  TRY(net::run_in_netns(nr, []() -> Result<void> {
    TRY(net::write_sysctl("net/ipv4/ip_forward", "1"));
    TRY(net::write_sysctl("net/ipv6/conf/all/forwarding", "1"));
    return net::nft_apply(net::zos_nr_ruleset());
  }));
  auto inside = TRY(net::Netlink::open_in(nr));
  UniqueFd nr_fd(::open(nr.c_str(), O_RDONLY | O_CLOEXEC));
  if (!nr_fd) return fail_errno("opening " + nr);
  // A veth pair whose inner end is `inner` in the resource's namespace, configured by
  // `configure`; made whole or not at all, so a pair that exists is a configured one.
  auto ensure_pair = [&](const std::string& outer, const char* inner, const std::function<Result<void>()>& configure) -> Result<void> {
    if (TRY(inside.link_exists(inner))) return {};
    TRY(host.delete_link(outer));  // half a pair from an interrupted create
    TRY(host.create_veth(outer, inner, nr_fd.get()));
    auto done = configure();
    if (!done) (void)host.delete_link(outer);  // takes its peer with it
    return done;
  };
  TRY(ensure_pair(names.host_nr, net::kZosNrLink, [&]() -> Result<void> {
    TRY(host.set_master(names.host_nr, n.bridge));
    TRY(host.set_up(names.host_nr));
    TRY(add_address_once(inside, net::kZosNrLink, net::Cidr(n.gateway, n.subnet.prefix())));
    if (n.gateway6) TRY(add_address_once(inside, net::kZosNrLink, net::Cidr(*n.gateway6, 64)));
    return inside.set_up(net::kZosNrLink);
  }));
  TRY(ensure_pair(names.host_public, net::kZosPublicLink, [&]() -> Result<void> {
    TRY(host.set_master(names.host_public, ndmz));
    TRY(host.set_up(names.host_public));
    TRY(add_address_once(inside, net::kZosPublicLink, net::Cidr(z.ndmz_ip, net::kZosNdmzSubnet.prefix())));
    TRY(inside.set_up(net::kZosPublicLink));
    return add_route_once(inside, net::Cidr(unspecified(true), 0), net::kZosNdmzGateway, net::kZosPublicLink);
  }));
  return ensure_zos_wireguard(n, z, nr);
}

Result<void> Engine::ensure_zos_wireguard(const Network& n, const ZosNetworkRecord& z, const std::string& nr) {
  net::ZosLinkNames names = zos_names(z.spec.net_id);
  auto inside = TRY(net::Netlink::open_in(nr));
  if (wg_alive(inside, nr, names.wireguard)) return {};
  // Not there, or its process is gone (a reboot, a kill): made again from the record.
  auto key_text = TRY(read_file(zos_key_path(n.id), 4096));
  auto key = from_hex(std::string_view(reinterpret_cast<const char*>(key_text.data()), key_text.size()));
  if (!key || key->size() != 32) return fail(Errc::invalid_input, zos_key_path(n.id) + ": not a WireGuard private key");
  net::WgKey private_key;
  std::copy(key->begin(), key->end(), private_key.begin());
  auto host = TRY(net::Netlink::open());
  TRY(inside.delete_link(names.wireguard));
  TRY(host.delete_link(names.wireguard));  // a TUN link a killed process left here
  // The kernel's module where there is one: its link keeps its UDP socket in this (the node's)
  // namespace after the move. Else wireguard-go, whose socket is where its process runs.
  auto kernel = host.create_wireguard(names.wireguard);
  if (!kernel && kernel.error().kind != Errc::unsupported) return kernel;
  if (!kernel) {
    std::string log = opts_.run_root + "/wireguard/" + names.wireguard + ".log";
    if (::mkdir("/var/run/wireguard", 0755) != 0 && errno != EEXIST) return fail_errno("making /var/run/wireguard");
    TRY_CTX(net::start_wireguard_go(opts_.wireguard_go, names.wireguard, log), "starting WireGuard for network " + n.name);
  }
  auto configured = [&]() -> Result<void> {
    UniqueFd nr_fd(::open(nr.c_str(), O_RDONLY | O_CLOEXEC));
    if (!nr_fd) return fail_errno("opening " + nr);
    TRY(host.move_to_netns(names.wireguard, nr_fd.get()));
    TRY(wg_configure(nr, names.wireguard, device_config(z, private_key), nullptr));
    TRY(add_address_once(inside, names.wireguard, net::zos_wg_address(z.spec.subnet)));
    TRY(inside.set_up(names.wireguard));
    TRY(add_route_once(inside, z.spec.ip_range, unspecified(true), names.wireguard));
    return add_peer_routes(inside, z.spec, names.wireguard);
  }();
  if (!configured) {
    (void)net::stop_wireguard_go(names.wireguard);
    (void)inside.delete_link(names.wireguard);
    (void)host.delete_link(names.wireguard);
    return std::unexpected(std::move(configured).error().context("setting up WireGuard for network " + n.name));
  }
  return {};
}

Result<void> Engine::update_zos_network(const std::string& ref, const std::vector<net::ZosPeer>& peers) {
  Network n = TRY(NetworkStore(db_).find(ref));
  ZosNetworkStore store(db_);
  ZosNetworkRecord z = TRY(store.get(n.id));
  z.spec.peers = peers;
  z.spec.private_key.fill(1);  // validated without it: it is not read here
  TRY(net::validate_zos_peers(z.spec));
  std::string nr = zos_netns_path(n.id);
  net::ZosLinkNames names = zos_names(z.spec.net_id);
  bool live = false;
  if (net::netns_mounted(nr)) {
    auto inside = TRY(net::Netlink::open_in(nr));
    live = wg_alive(inside, nr, names.wireguard);
  }
  if (!live) {
    // Nothing to change in place: the repair makes it from the record, new peers and all.
    TRY(store.set_peers(n.id, peers));
    TRY(ensure_zos_resource(n));
  } else {
    // Under the interface's lock, so a repair cannot start from the old record meanwhile; the
    // device first and the record after, so a change WireGuard refuses leaves both as they were.
    // Only the peers change, in one request: peers that stay keep their sessions, and the
    // device's own settings are not sent (setting the port again would rebind its socket).
    auto lock = TRY(lock_zos_interface(names.wireguard));
    auto inside = TRY(net::Netlink::open_in(nr));
    net::WgDeviceStatus current = TRY(wg_status(nr, names.wireguard));
    TRY(wg_configure(nr, names.wireguard, device_config(z, {}), &current));
    TRY(store.set_peers(n.id, peers));
    TRY(add_peer_routes(inside, z.spec, names.wireguard));
  }
  record_event({"network", "update", n.id, {{"name", n.name}, {"type", "zos"}}});
  return {};
}

Result<Engine::ZosNetworkView> Engine::zos_network(const Network& n) {
  ZosNetworkView v;
  v.record = TRY(ZosNetworkStore(db_).get(n.id));
  v.wg_ifname = zos_names(v.record.spec.net_id).wireguard;
  v.wg_address = net::zos_wg_address(v.record.spec.subnet);
  if (auto st = wg_status(zos_netns_path(n.id), v.wg_ifname)) v.wg = *st;
  else v.wg_problem = st.error().message;
  return v;
}

Result<void> Engine::remove_zos_resource(const ZosNetworkRecord& z) {
  // Every step whatever the others did (the record is gone: nothing would retry), the key first;
  // the first failure is reported.
  net::ZosLinkNames names = zos_names(z.spec.net_id);
  Result<void> first;
  auto step = [&](Result<void> r) {
    if (!r && first) first = std::move(r);
  };
  if (::unlink(zos_key_path(z.network_id).c_str()) != 0 && errno != ENOENT) step(fail_errno("removing " + zos_key_path(z.network_id)));
  step(net::stop_wireguard_go(names.wireguard));  // its TUN link goes with it
  for (const char* ext : {".log", ".lock"}) ::unlink((opts_.run_root + "/wireguard/" + names.wireguard + ext).c_str());
  std::string nr = zos_netns_path(z.network_id);
  if (net::netns_mounted(nr)) {
    auto inside = net::Netlink::open_in(nr);
    step(inside ? inside->delete_link(names.wireguard) : Result<void>(std::unexpected(inside.error())));  // the module's link, if one
  }
  // The namespace takes nr and public, and so the veths' node ends.
  step(net::remove_netns(nr));
  auto host = net::Netlink::open();
  if (!host) return std::unexpected(host.error());
  for (const auto& l : {names.host_nr, names.host_public, names.wireguard, names.bridge}) step(host->delete_link(l));
  auto left = ZosNetworkStore(db_).list();
  if (left && left->empty()) step(host->delete_link(zos_ndmz_bridge()));
  return first;
}

Result<void> Engine::join_public_ip6(const std::string& id) {
  auto inside = TRY(net::Netlink::open_in(netns_path(id)));
  if (TRY(inside.link_exists("pub"))) return {};
  auto host = TRY(net::Netlink::open());
  if (!TRY(host.link_exists(opts_.public_bridge)))
    return fail(Errc::unavailable, "--public-ip6 needs the node's public bridge " + opts_.public_bridge + ", which does not exist");
  UniqueFd ns(::open(netns_path(id).c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return fail_errno("opening " + netns_path(id));
  // Born in the container's namespace, so the name `pub` may be taken on the node.
  TRY(host.create_macvlan("pub", opts_.public_bridge, ns.get()));
  auto configured = net::run_in_netns(netns_path(id), [&]() -> Result<void> {
    auto nl = TRY(net::Netlink::open());
    // SLAAC from the upstream router's adverts; the container forwards nothing, so accept_ra=1.
    TRY(net::write_sysctl("net/ipv6/conf/pub/accept_ra", "1"));
    TRY(net::write_sysctl("net/ipv6/conf/pub/autoconf", "1"));
    (void)net::write_sysctl("net/ipv6/conf/pub/accept_dad", "0");
    return nl.set_up("pub");
  });
  if (!configured) (void)inside.delete_link("pub");  // whole or not at all: a later start makes it again
  return configured;
}

Result<std::vector<net::IpAddress>> Engine::public_ip6_of(const std::string& id, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  auto inside = TRY(net::Netlink::open_in(netns_path(id)));
  for (;;) {
    std::vector<net::IpAddress> out;
    auto addrs = inside.addresses("pub", AF_INET6, true);
    if (!addrs && addrs.error().kind != Errc::not_found) return std::unexpected(addrs.error());
    if (addrs)
      for (const auto& a : *addrs) out.push_back(a.address());
    if (!out.empty() || std::chrono::steady_clock::now() >= deadline) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace tiffin::engine
