// A container's network: its leases (network_store.hpp) are taken in create, before anything is
// made in the kernel; then the network's bridge, a veth pair per network with its peer born in
// the container's namespace, addresses and routes; tiffin's nftables table for published ports;
// the resolver's records. release_network undoes it: the veths are deleted, the namespace
// unmounted, the leases go, and the table and the resolver's files are made again from what is
// left. The veths are deleted before a lease goes, not left to die with the namespace: the
// kernel frees a namespace later, from a work queue, and until then its veth would still answer
// for an address the next container may already have been given (CI once saw a container
// refused by 10.89.0.2 — a --rm container's namespace, still on the bridge with the address
// the new web server had just been leased).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <set>

#include "common/fd.hpp"
#include "dns/network_file.hpp"
#include "dns/resolver_control.hpp"
#include "engine/engine.hpp"
#include "net/etc_files.hpp"
#include "net/host_ports.hpp"
#include "net/ipam.hpp"
#include "net/netlink.hpp"
#include "net/netns.hpp"
#include "net/nft_ruleset.hpp"
#include "net/nftables.hpp"
#include "net/sysctl.hpp"

namespace tiffin::engine {
namespace {

std::string read_text(const std::string& path) {
  auto data = read_file(path, 1 << 20);
  return data ? std::string(data->begin(), data->end()) : std::string();
}

}  // namespace

net::NetIo Engine::network_io(const ContainerInfo& c) {
  if (c.state.pid <= 0) return {};
  return net::parse_net_dev(read_text("/proc/" + std::to_string(c.state.pid) + "/net/dev"));
}

Result<std::vector<Endpoint>> Engine::container_endpoints(const std::string& id) { return NetworkStore(db_).endpoints(id); }
Result<std::vector<net::PublishedPort>> Engine::container_ports(const std::string& id) { return NetworkStore(db_).ports(id); }

namespace {

Result<void> delete_host_links(const std::vector<Endpoint>& endpoints) {
  if (endpoints.empty()) return {};
  auto host = TRY(net::Netlink::open());
  for (const auto& e : endpoints) TRY(host.delete_link(e.host_ifname));  // takes the peer with it
  return {};
}

}  // namespace

Result<void> Engine::collect_network_garbage() {
  auto gone = [&](const std::string& id) {
    struct stat st;
    return ::stat(container_dir(id).c_str(), &st) != 0 && errno == ENOENT && !shim_alive(id);
  };
  auto released = TRY(NetworkStore(db_).release_gone(gone));
  if (released.empty()) return {};
  bool had_ports = false;
  std::vector<Endpoint> held;
  // Their veths go right after their leases, before the lease this CLI is about to take.
  for (auto& r : released) {
    had_ports = had_ports || !r.ports.empty();
    held.insert(held.end(), r.endpoints.begin(), r.endpoints.end());
    TRY(delete_host_links(r.endpoints));
    TRY(net::remove_netns(netns_path(r.container)));
  }
  if (had_ports) TRY(sync_firewall());
  return sync_dns_of(held);
}

Result<void> Engine::lease_network(const std::string& id, const ContainerConfig& c, const ImageInfo& image) {
  if (network_mode(c) != NetworkMode::bridge) return {};
  TRY(collect_network_garbage());
  NetworkStore store(db_);
  Network n =
      c.network == "bridge" || c.network == kDefaultNetwork ? TRY(store.ensure_default(net::host_routes_v4)) : TRY(store.find(c.network));
  EndpointRequest r{n.id, {}, {}, c.mac_address, c.network_aliases};
  if (!c.ip.empty()) r.ip = TRY(net::IpAddress::parse(c.ip));
  if (!c.ip6.empty()) r.ip6 = TRY(net::IpAddress::parse(c.ip6));
  std::vector<std::string> specs = c.publish;
  if (n.driver == "zos" && (!specs.empty() || c.publish_all))
    return fail(Errc::invalid_input,
        "-p: containers on Zero-OS network " + n.name + " publish no ports; they are reached over its WireGuard peers");
  TRY(store.attach(id, r));
  if (c.publish_all)  // docker's -P: the image's ports ("80/tcp"), each on a port the kernel would pick
    for (const auto& p : TRY(image_config(image)).ports) specs.push_back(p);
  if (!specs.empty()) {
    std::vector<net::ExpandedPorts> ports;
    for (const auto& p : specs) ports.push_back(TRY_CTX(net::expand_port_spec(TRY(net::parse_port_spec(p))), "port " + p));
    TRY(store.publish(id, ports, net::host_port_free));
  }
  return {};
}

Result<void> Engine::ensure_bridge(const Network& n) {
  if (n.driver == "zos") return ensure_zos_resource(n);
  auto host = TRY(net::Netlink::open());
  if (!TRY(host.link_exists(n.bridge))) {
    auto made = host.create_bridge(n.bridge);
    if (!made && made.error().kind != Errc::conflict) return made;  // another CLI made it meanwhile
  }
  // Each step again, so a bridge a killed CLI left half made is finished here.
  for (auto [addr, subnet] : {std::pair{std::optional(n.gateway), std::optional(n.subnet)}, std::pair{n.gateway6, n.subnet6}}) {
    if (!addr) continue;
    auto added = host.add_address(n.bridge, net::Cidr(*addr, subnet->prefix()));
    if (!added && added.error().kind != Errc::conflict) return added;
  }
  // A tentative link-local address on the bridge stalls neighbour discovery of new containers'
  // IPv6 addresses for a second or two: no DAD on it.
  if (n.subnet6) (void)net::write_sysctl("net/ipv6/conf/" + n.bridge + "/accept_dad", "0");
  TRY(host.set_up(n.bridge));
  // 127.0.0.1 DNAT'ed to a container crosses this bridge only with route_localnet.
  TRY(net::write_sysctl("net/ipv4/conf/" + n.bridge + "/route_localnet", "1"));
  if (!n.internal) {
    TRY(net::write_sysctl("net/ipv4/ip_forward", "1"));
    if (n.subnet6) TRY(net::write_sysctl("net/ipv6/conf/all/forwarding", "1"));
  }
  // The table is gone after a reboot, or a CLI was killed before it synced this network.
  struct stat st;
  if (::stat((opts_.run_root + "/firewall/" + n.id).c_str(), &st) != 0) TRY(sync_firewall());
  return {};
}

Result<bool> Engine::join_network(const std::string& id, const Endpoint& e, bool default_route) {
  auto inside = TRY(net::Netlink::open_in(netns_path(id)));
  if (TRY(inside.link_exists(e.ifname))) return false;  // made before: a start after a stop
  Network n = TRY(NetworkStore(db_).find(e.network_id));
  TRY(ensure_bridge(n));
  auto host = TRY(net::Netlink::open());
  TRY(host.delete_link(e.host_ifname));  // half a pair from a CLI killed while making it
  UniqueFd ns(::open(netns_path(id).c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return fail_errno("opening " + netns_path(id));
  TRY(host.create_veth(e.host_ifname, e.ifname, ns.get()));
  auto configured = [&]() -> Result<void> {
    TRY(host.set_master(e.host_ifname, n.bridge));
    TRY(host.set_hairpin(e.host_ifname, true));
    TRY(host.set_up(e.host_ifname));
    TRY(inside.set_mac(e.ifname, TRY(net::parse_mac(e.mac))));
    TRY(inside.add_address(e.ifname, net::Cidr(e.ip, n.subnet.prefix())));
    if (e.ip6) TRY(inside.add_address(e.ifname, net::Cidr(*e.ip6, n.subnet6->prefix())));
    TRY(inside.set_up(e.ifname));
    if (default_route && !n.internal) {
      TRY(inside.add_default_route(n.gateway, e.ifname));
      if (e.ip6) TRY(inside.add_default_route(*n.gateway6, e.ifname));
    }
    return {};
  }();
  if (!configured) {
    (void)host.delete_link(e.host_ifname);  // takes the peer with it
    return std::unexpected(std::move(configured).error().context("joining container " + short_id(id) + " to network " + n.name));
  }
  return true;
}

Result<void> Engine::prepare_network(const std::string& id, const ContainerConfig& c) {
  NetworkMode mode = network_mode(c);
  if (mode == NetworkMode::host || mode == NetworkMode::container) return {};
  if (!net::netns_mounted(netns_path(id))) TRY(net::create_netns(netns_path(id)));
  if (mode == NetworkMode::none) return {};
  auto endpoints = TRY(NetworkStore(db_).endpoints(id));
  bool joined = false;
  for (size_t i = 0; i < endpoints.size(); ++i) joined = TRY(join_network(id, endpoints[i], i == 0)) || joined;
  if (c.public_ip6) TRY(join_public_ip6(id));
  // A start after a stop finds everything in place: only the resolver must be alive.
  if (!joined) return dns::ensure_resolver(dns_dir(), opts_.dns_binary);
  if (!c.publish.empty() || c.publish_all) TRY(sync_firewall());
  return sync_dns_of(endpoints);
}

Result<void> Engine::release_network(const std::string& id) {
  TRY(delete_host_links(TRY(NetworkStore(db_).endpoints(id))));
  TRY(net::remove_netns(netns_path(id)));
  auto held = TRY(NetworkStore(db_).release(id));
  if (!held.ports.empty()) TRY(sync_firewall());
  return sync_dns_of(held.endpoints);
}

Result<void> Engine::sync_firewall() {
  // Each rewrite reads the database and replaces the whole: two CLIs at once could put an
  // older view last.
  auto lock = TRY(lock_file(opts_.run_root + "/network.lock"));
  NetworkStore store(db_);
  auto nets = TRY(store.list());
  std::vector<net::BridgeNetworkRules> rules;
  bool any_zos = false;
  for (const auto& n : nets) {
    // A zos network's bridge only switches frames: its routing and firewall are in the
    // resource's namespace. What the node sees of it is the ndmz bridge, a bridge network of
    // sorts whose subnet goes out masqueraded.
    if (n.driver == "zos") any_zos = true;
    else rules.push_back({n.name, n.bridge, n.subnet, n.subnet6, n.internal});
  }
  if (any_zos) rules.push_back({"zos-ndmz", zos_ndmz_bridge(), net::kZosNdmzSubnet, std::nullopt, false, true});
  std::vector<net::PortMapping> maps;
  for (const auto& lease : TRY(store.all_ports())) {
    auto eps = TRY(store.endpoints(lease.container));
    if (eps.empty()) continue;
    const Endpoint& primary = eps.front();  // ports lead to the first network's address, as docker's do
    const auto& p = lease.port;
    if (!p.host_ip || p.host_ip->is_v4()) maps.push_back({p.proto, p.host_ip, p.host_port, primary.ip, p.ctr_port});
    if (primary.ip6 && (!p.host_ip || !p.host_ip->is_v4())) maps.push_back({p.proto, p.host_ip, p.host_port, *primary.ip6, p.ctr_port});
  }
  // No networks, no rules: the table goes (rm of the last network, a test's teardown).
  std::string text = nets.empty() ? net::nft_delete_table(firewall_table()) : net::nft_ruleset(rules, maps, firewall_table());
  TRY_CTX(net::nft_apply(text), "writing nftables table " + firewall_table());
  std::string marks = opts_.run_root + "/firewall";
  if (::mkdir(marks.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + marks);
  for (const auto& n : nets) TRY(write_file_atomic(marks + "/" + n.id, "", 0600, false));
  return {};
}

std::string Engine::firewall_table() const {
  if (opts_.root == EngineOptions{}.root) return std::string(net::kNftTable);
  uint32_t h = 2166136261u;  // FNV-1a of the root: stable across builds, unlike std::hash
  for (char c : opts_.root) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  char name[32];
  std::snprintf(name, sizeof name, "inet tiffin_%08x", h);
  return name;
}

Result<void> Engine::sync_dns_of(const std::vector<Endpoint>& endpoints) {
  std::set<std::string> done;
  for (const auto& e : endpoints)
    if (done.insert(e.network_id).second) TRY(sync_dns(TRY(NetworkStore(db_).find(e.network_id))));
  return {};
}

Result<void> Engine::sync_dns(const Network& n) {
  // A zos network's gateway is in its resource's namespace, where the node's resolver cannot
  // listen; its containers use the name servers resolv_conf_for gives them.
  if (n.driver == "zos") return {};
  // Each rewrite reads the database and replaces the whole: two CLIs at once could put an
  // older view last.
  auto lock = TRY(lock_file(opts_.run_root + "/network.lock"));
  dns::NetworkFile file;
  file.network = n.name;
  file.listen.push_back({n.gateway, 53});
  if (n.gateway6) file.listen.push_back({*n.gateway6, 53});
  // An internal network has no way out, for names neither.
  if (!n.internal) {
    auto upstreams = opts_.dns_upstreams;
    if (upstreams.empty()) upstreams = net::parse_resolv_conf(read_text("/etc/resolv.conf")).nameservers;
    for (const auto& u : upstreams) file.upstreams.push_back(TRY_CTX(dns::parse_endpoint(u), "upstream name server"));
  }
  auto st =
      TRY(sql::Stmt::prepare(db_, "SELECT c.name, c.id FROM endpoints e JOIN containers c ON c.id = e.container WHERE e.network = ?"));
  st.bind(1, n.id);
  std::map<std::string, std::string> names;  // container id → name
  while (TRY(st.step())) names[st.text(1)] = st.text(0);
  for (const auto& e : TRY(NetworkStore(db_).endpoints_on(n.id))) {
    auto name = names.find(e.container);
    if (name == names.end()) continue;  // its record went first: a --rm container being collected
    std::vector<std::string> all = {name->second, short_id(e.container)};
    all.insert(all.end(), e.aliases.begin(), e.aliases.end());
    for (auto each : all) {
      for (auto& ch : each) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      file.records.push_back({each, e.ip});
      if (e.ip6) file.records.push_back({each, *e.ip6});
    }
  }
  // The file first: a resolver that starts finds it, and one that is idle does not exit.
  TRY(dns::write_network_file(dns_dir(), file));
  return dns::ensure_resolver(dns_dir(), opts_.dns_binary);
}

Result<std::string> Engine::resolv_conf_for(const std::string& id, const ContainerConfig& c) {
  NetworkMode mode = network_mode(c);
  if (mode == NetworkMode::host) return read_text("/etc/resolv.conf");
  if (mode == NetworkMode::none) return std::string();  // no network, no name servers
  if (mode == NetworkMode::container) return read_text(container_dir(TRY(resolve_container(network_container(c)))) + "/resolv.conf");
  net::ResolvConf host = net::parse_resolv_conf(read_text("/etc/resolv.conf"));
  net::ResolvConf r;
  r.nameservers = c.dns;
  if (r.nameservers.empty()) {
    auto eps = TRY(NetworkStore(db_).endpoints(id));
    if (!eps.empty()) {
      Network n = TRY(NetworkStore(db_).find(eps.front().network_id));
      if (n.driver != "zos") r.nameservers.push_back(n.gateway.str());
      else  // the node's upstreams (--dns-upstream, else its own), but none on its loopback: unreachable from here
        for (const auto& s : opts_.dns_upstreams.empty() ? host.nameservers : opts_.dns_upstreams)
          if (auto ep = dns::parse_endpoint(s); ep && ep->port == 53 && !ep->address.is_loopback())
            r.nameservers.push_back(ep->address.str());
    }
  }
  r.search = c.dns_search.empty() ? host.search : c.dns_search;
  r.options = c.dns_options.empty() ? host.options : c.dns_options;
  return net::format_resolv_conf(r);
}

Result<std::string> Engine::hosts_for(const std::string& id, const ContainerConfig& c, const std::string& hostname) {
  std::vector<std::string> own;
  for (const auto& e : TRY(NetworkStore(db_).endpoints(id))) {
    own.push_back(e.ip.str());
    if (e.ip6) own.push_back(e.ip6->str());
  }
  std::vector<net::HostsEntry> extra;
  for (const auto& h : c.add_hosts) extra.push_back(TRY(parse_add_host(h)));
  return net::hosts_file(hostname, own, extra);
}

}  // namespace tiffin::engine
