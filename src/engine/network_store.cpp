#include "engine/network_store.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

#include "common/hex.hpp"
#include "engine/container_config.hpp"
#include "net/ipam.hpp"

namespace tiffin::engine {

using json = nlohmann::json;

namespace {

Result<std::string> random_hex(size_t bytes) {
  uint8_t buf[32];
  if (::getrandom(buf, bytes, 0) != static_cast<ssize_t>(bytes)) return fail_errno("getrandom");
  return to_hex(std::span<const uint8_t>(buf, bytes));
}

std::string or_empty(const std::optional<net::IpAddress>& a) { return a ? a->str() : ""; }
std::string or_empty(const std::optional<net::Cidr>& c) { return c ? c->str() : ""; }

// Subnets tried, in order, when a network names none: the default network gets a /16, others
// a /24 each (podman's plan; docker's 172.17–31 is where the docker on the same host lives).
std::vector<net::Cidr> candidate_subnets(bool for_default) {
  std::vector<net::Cidr> out;
  if (for_default) {
    for (uint32_t second : {88u, 87u, 86u, 85u}) out.emplace_back(net::IpAddress::v4((10u << 24) | (second << 16)), 16);
    return out;
  }
  for (uint32_t second = 89; second <= 95; ++second)
    for (uint32_t third = 0; third < 256; ++third) out.emplace_back(net::IpAddress::v4((10u << 24) | (second << 16) | (third << 8)), 24);
  return out;
}

// A unique local /64 (RFC 4193): fd, 40 random bits, subnet 0.
Result<net::Cidr> random_ula() {
  uint8_t b[16] = {0xfd};
  if (::getrandom(b + 1, 5, 0) != 5) return fail_errno("getrandom");
  return net::Cidr(net::IpAddress::from_bytes(net::IpAddress::Family::v6, b), 64);
}

bool reserved_network_name(const std::string& n) { return n == "host" || n == "none" || n == "bridge" || n.starts_with("container:"); }

}  // namespace

std::string mac_for(const net::IpAddress& ip) {
  std::array<uint8_t, 6> mac = {0x02, 0x42, 0, 0, 0, 0};
  if (ip.is_v4()) std::copy(ip.bytes(), ip.bytes() + 4, mac.begin() + 2);
  else std::copy(ip.bytes() + 12, ip.bytes() + 16, mac.begin() + 2);
  return net::format_mac(mac);
}

Result<void> NetworkStore::in_transaction(const std::function<Result<void>()>& body) {
  TRY(db_.exec("BEGIN IMMEDIATE"));
  auto r = body();
  if (r) r = db_.exec("COMMIT");
  if (!r) (void)db_.exec("ROLLBACK");
  return r;
}

Result<std::vector<Network>> NetworkStore::select_networks(const std::string& where, const std::string& arg) {
  auto st = TRY(sql::Stmt::prepare(db_,
      "SELECT id, name, driver, bridge, subnet, gateway, ip_range, subnet6, gateway6, internal, labels, created FROM networks " + where));
  if (!arg.empty()) st.bind(1, arg);
  std::vector<Network> out;
  while (TRY(st.step())) {
    Network n;
    n.id = st.text(0);
    n.name = st.text(1);
    n.driver = st.text(2);
    n.bridge = st.text(3);
    n.subnet = TRY(net::Cidr::parse(st.text(4), true));
    n.gateway = TRY(net::IpAddress::parse(st.text(5)));
    n.ip_range = TRY(net::Cidr::parse(st.text(6), true));
    if (!st.text(7).empty()) n.subnet6 = TRY(net::Cidr::parse(st.text(7), true));
    if (!st.text(8).empty()) n.gateway6 = TRY(net::IpAddress::parse(st.text(8)));
    n.internal = st.i64(9) != 0;
    json labels = json::parse(st.text(10), nullptr, false);
    if (labels.is_object())
      for (auto& [k, v] : labels.items())
        if (v.is_string()) n.labels[k] = v.get<std::string>();
    n.created = st.i64(11);
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::vector<Network>> NetworkStore::list() { return select_networks("ORDER BY created, name", ""); }

Result<Network> NetworkStore::find(const std::string& ref) {
  std::string name = ref == "bridge" ? kDefaultNetwork : ref;
  auto exact = TRY(select_networks("WHERE name = ?1 OR id = ?1", name));
  if (!exact.empty()) return exact.front();
  // A Zero-OS network by its network id, as workloads name it.
  auto by_net_id = TRY(select_networks("WHERE id = (SELECT network FROM zos_networks WHERE net_id = ?1)", name));
  if (!by_net_id.empty()) return by_net_id.front();
  if (!ref.empty() && ref.find_first_not_of("0123456789abcdef") == std::string::npos) {
    auto prefixed = TRY(select_networks("WHERE id LIKE ?1 || '%'", ref));
    if (prefixed.size() == 1) return prefixed.front();
    if (prefixed.size() > 1) return fail(Errc::invalid_input, "network id prefix " + ref + " is ambiguous");
  }
  return fail(Errc::not_found, "no such network: " + ref);
}

Result<Network> NetworkStore::create(const NetworkSpec& spec, const std::vector<net::Cidr>& host_routes) {
  bool is_default = spec.name == kDefaultNetwork;
  if (!valid_container_name(spec.name) || (reserved_network_name(spec.name)))
    return fail(Errc::invalid_input, "invalid network name '" + spec.name + "'" +
                                         (reserved_network_name(spec.name) ? " (host, none, bridge and container:… are reserved)" : ""));
  if (spec.driver != "bridge" && spec.driver != "zos")
    return fail(Errc::unsupported, "network driver '" + spec.driver + "' is not supported (bridge, zos)");
  if (!spec.subnet6.empty() && !spec.ipv6) return fail(Errc::invalid_input, "an IPv6 subnet needs --ipv6");
  Network n;
  n.name = spec.name;
  n.driver = spec.driver;
  n.internal = spec.internal;
  n.labels = spec.labels;
  n.created = static_cast<int64_t>(::time(nullptr));
  n.id = TRY(random_hex(32));
  n.bridge = spec.bridge.empty() ? "tf-" + n.id.substr(0, 8) : spec.bridge;
  TRY(in_transaction([&]() -> Result<void> {
    auto others = TRY(list());
    for (const auto& o : others)
      if (o.name == n.name) return fail(Errc::conflict, "network with name " + n.name + " already exists");
    if (!spec.subnet.empty()) {
      n.subnet = TRY(net::Cidr::parse(spec.subnet, true));
      if (!n.subnet.address().is_v4()) return fail(Errc::invalid_input, "--subnet " + spec.subnet + " is not IPv4 (IPv6 goes with --ipv6)");
      for (const auto& o : others)
        if (o.subnet.overlaps(n.subnet))
          return fail(Errc::conflict, "subnet " + n.subnet.str() + " overlaps network " + o.name + "'s " + o.subnet.str());
    } else {
      std::vector<net::Cidr> in_use = host_routes;
      for (const auto& o : others) in_use.push_back(o.subnet);
      auto chosen = net::first_free_subnet(candidate_subnets(is_default), in_use);
      if (!chosen) return fail(Errc::unavailable, "no free subnet left for network " + n.name + "; give one with --subnet");
      n.subnet = *chosen;
    }
    n.gateway = spec.gateway.empty() ? net::default_gateway(n.subnet) : TRY(net::IpAddress::parse(spec.gateway));
    n.ip_range = spec.ip_range.empty() ? n.subnet : TRY(net::Cidr::parse(spec.ip_range, true));
    TRY(net::check_network_addressing(n.subnet, n.gateway, n.ip_range));
    if (spec.ipv6) {
      n.subnet6 = spec.subnet6.empty() ? TRY(random_ula()) : TRY(net::Cidr::parse(spec.subnet6, true));
      if (n.subnet6->address().is_v4()) return fail(Errc::invalid_input, "the IPv6 subnet " + spec.subnet6 + " is IPv4");
      for (const auto& o : others)
        if (o.subnet6 && o.subnet6->overlaps(*n.subnet6))
          return fail(Errc::conflict, "subnet " + n.subnet6->str() + " overlaps network " + o.name + "'s " + o.subnet6->str());
      n.gateway6 = spec.gateway6.empty() ? net::default_gateway(*n.subnet6) : TRY(net::IpAddress::parse(spec.gateway6));
      TRY(net::check_network_addressing(*n.subnet6, *n.gateway6, *n.subnet6));
    } else if (!spec.gateway6.empty()) {
      return fail(Errc::invalid_input, "an IPv6 gateway needs --ipv6");
    }
    auto ins = TRY(sql::Stmt::prepare(db_,
        "INSERT INTO networks (id, name, driver, bridge, subnet, gateway, ip_range, subnet6, gateway6, internal, labels, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    ins.bind(1, n.id).bind(2, n.name).bind(3, n.driver).bind(4, n.bridge).bind(5, n.subnet.str()).bind(6, n.gateway.str());
    ins.bind(7, n.ip_range.str()).bind(8, or_empty(n.subnet6)).bind(9, or_empty(n.gateway6)).bind(10, int64_t{n.internal});
    ins.bind(11, json(n.labels).dump()).bind(12, n.created);
    return ins.run();
  }));
  return n;
}

Result<Network> NetworkStore::ensure_default(const std::function<std::vector<net::Cidr>()>& host_routes) {
  if (auto found = find(kDefaultNetwork); found || found.error().kind != Errc::not_found) return found;
  auto made = create({.name = kDefaultNetwork}, host_routes());
  if (!made && made.error().kind == Errc::conflict) return find(kDefaultNetwork);  // another CLI made it meanwhile
  return made;
}

Result<void> NetworkStore::remove(const std::string& network_id) {
  return in_transaction([&]() -> Result<void> {
    auto users = TRY(select_endpoints("WHERE e.network = ?1", network_id));
    if (!users.empty())
      return fail(Errc::conflict, "network " + users.front().network_name + " has active endpoints (container " +
                                      users.front().container.substr(0, 12) + (users.size() > 1 ? " and others" : "") + ")");
    auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM networks WHERE id = ?"));
    return del.bind(1, network_id).run();
  });
}

Result<std::vector<Endpoint>> NetworkStore::select_endpoints(const std::string& where, const std::string& arg) {
  auto st = TRY(sql::Stmt::prepare(db_,
      "SELECT e.container, e.network, n.name, e.ifname, e.host_ifname, e.ip, e.ip6, e.mac, e.aliases "
      "FROM endpoints e JOIN networks n ON n.id = e.network " +
          where + " ORDER BY e.ifname"));
  if (!arg.empty()) st.bind(1, arg);
  std::vector<Endpoint> out;
  while (TRY(st.step())) {
    Endpoint e{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), TRY(net::IpAddress::parse(st.text(5))), {}, st.text(7), {}};
    if (!st.text(6).empty()) e.ip6 = TRY(net::IpAddress::parse(st.text(6)));
    json aliases = json::parse(st.text(8), nullptr, false);
    if (aliases.is_array())
      for (const auto& a : aliases)
        if (a.is_string()) e.aliases.push_back(a.get<std::string>());
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<Endpoint>> NetworkStore::endpoints(const std::string& container) {
  return select_endpoints("WHERE e.container = ?1", container);
}
Result<std::vector<Endpoint>> NetworkStore::endpoints_on(const std::string& network_id) {
  return select_endpoints("WHERE e.network = ?1", network_id);
}

Result<Endpoint> NetworkStore::attach(const std::string& container, const EndpointRequest& r) {
  Endpoint e;
  TRY(in_transaction([&]() -> Result<void> {
    Network n = TRY(find(r.network));
    auto on_network = TRY(endpoints_on(n.id));
    std::set<net::IpAddress> taken, taken6;
    for (const auto& other : on_network) {
      if (other.container == container)
        return fail(Errc::conflict, "container " + container.substr(0, 12) + " is already on network " + n.name);
      taken.insert(other.ip);
      if (other.ip6) taken6.insert(*other.ip6);
    }
    auto lease = [&](const std::optional<net::IpAddress>& wanted, const net::Cidr& subnet, const net::Cidr& range,
                     const net::IpAddress& gateway, const std::set<net::IpAddress>& used) -> Result<net::IpAddress> {
      if (!wanted) {
        auto free = net::first_free_address(subnet, range, gateway, used);
        if (!free) return fail(Errc::unavailable, "network " + n.name + " has no free address left in " + range.str());
        return *free;
      }
      if (!subnet.contains(*wanted))
        return fail(Errc::invalid_input, "address " + wanted->str() + " is not in network " + n.name + "'s " + subnet.str());
      if (*wanted == gateway || *wanted == subnet.network() || (wanted->is_v4() && *wanted == subnet.last()))
        return fail(Errc::invalid_input, "address " + wanted->str() + " is reserved on network " + n.name);
      if (used.contains(*wanted)) return fail(Errc::conflict, "address " + wanted->str() + " is already in use on network " + n.name);
      return *wanted;
    };
    e.container = container;
    e.network_id = n.id;
    e.network_name = n.name;
    e.ip = TRY(lease(r.ip, n.subnet, n.ip_range, n.gateway, taken));
    if (r.ip6 && !n.subnet6) return fail(Errc::invalid_input, "network " + n.name + " has no IPv6 subnet for --ip6 " + r.ip6->str());
    std::optional<net::IpAddress> wanted6 = r.ip6;
    if (n.driver == "zos" && !wanted6 && n.gateway6) {
      // Zero-OS's ULA of a.b.c.d is its subnet's /64 (which holds c) with d as the last group,
      // as the gateway's (.1 → ::1) shows.
      std::array<uint8_t, 16> b;
      std::copy(n.gateway6->bytes(), n.gateway6->bytes() + 16, b.begin());
      b[14] = 0;
      b[15] = e.ip.bytes()[3];
      wanted6 = net::IpAddress::from_bytes(net::IpAddress::Family::v6, b.data());
    }
    if (n.subnet6) e.ip6 = TRY(lease(wanted6, *n.subnet6, *n.subnet6, *n.gateway6, taken6));
    e.mac = r.mac.empty() ? mac_for(e.ip) : net::format_mac(TRY(net::parse_mac(r.mac)));
    e.aliases = r.aliases;
    // eth0, eth1, …: the lowest index the container does not use.
    auto mine = TRY(endpoints(container));
    for (int i = 0;; ++i) {
      std::string name = "eth" + std::to_string(i);
      if (std::none_of(mine.begin(), mine.end(), [&](const Endpoint& m) { return m.ifname == name; })) {
        e.ifname = name;
        e.host_ifname = "tf" + container.substr(0, 10) + std::to_string(i);
        break;
      }
    }
    auto ins = TRY(sql::Stmt::prepare(
        db_, "INSERT INTO endpoints (container, network, ifname, host_ifname, ip, ip6, mac, aliases) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    ins.bind(1, container).bind(2, n.id).bind(3, e.ifname).bind(4, e.host_ifname).bind(5, e.ip.str()).bind(6, or_empty(e.ip6));
    ins.bind(7, e.mac).bind(8, json(e.aliases).dump());
    return ins.run();
  }));
  return e;
}

Result<void> NetworkStore::detach(const std::string& container, const std::string& network_id) {
  auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM endpoints WHERE container = ? AND network = ?"));
  TRY(del.bind(1, container).bind(2, network_id).run());
  if (sqlite3_changes(db_.get()) == 0) return fail(Errc::not_found, "container " + container.substr(0, 12) + " is not on that network");
  return {};
}

Result<std::vector<net::PublishedPort>> NetworkStore::publish(const std::string& container, const std::vector<net::ExpandedPorts>& specs,
    const std::function<bool(const net::PublishedPort&)>& port_free) {
  std::vector<net::PublishedPort> out;
  TRY(in_transaction([&]() -> Result<void> {
    auto existing = TRY(all_ports());
    auto clash = [&](const net::PublishedPort& p) -> const PortLease* {
      for (const auto& l : existing)
        if (l.port.proto == p.proto && l.port.host_port == p.host_port && (!l.port.host_ip || !p.host_ip || *l.port.host_ip == *p.host_ip))
          return &l;
      return nullptr;
    };
    auto usable = [&](const net::PublishedPort& p) { return !clash(p) && port_free(p); };
    for (const auto& spec : specs) {
      for (net::PublishedPort p : spec.ports) {
        if (p.host_port == 0) {
          // docker's range for ports it picks, from a random start.
          uint16_t start = 0;
          (void)::getrandom(&start, sizeof start, 0);
          constexpr unsigned first = 49153, count = 65535 - 49153 + 1;
          bool found = false;
          for (unsigned i = 0; i < count && !found; ++i) {
            p.host_port = static_cast<uint16_t>(first + (start + i) % count);
            found = usable(p);
          }
          if (!found)
            return fail(Errc::unavailable, "no free host port left for " + std::to_string(p.ctr_port) + "/" + net::proto_name(p.proto));
        } else if (spec.pick_until) {
          uint16_t last = spec.pick_until;
          while (!usable(p) && p.host_port < last) ++p.host_port;
          if (!usable(p))
            return fail(Errc::conflict, "no host port free in " + std::to_string(spec.ports.front().host_port) + "-" +
                                            std::to_string(last) + "/" + net::proto_name(p.proto));
        } else if (const PortLease* other = clash(p)) {
          return fail(Errc::conflict, "host port " + std::to_string(p.host_port) + "/" + net::proto_name(p.proto) +
                                          " is already published by container " + other->container.substr(0, 12));
        } else if (!port_free(p)) {
          return fail(Errc::conflict, "host port " + std::to_string(p.host_port) + "/" + net::proto_name(p.proto) +
                                          " is already in use on the host (" + (p.host_ip ? p.host_ip->str() : "0.0.0.0") + ":" +
                                          std::to_string(p.host_port) + ")");
        }
        auto ins =
            TRY(sql::Stmt::prepare(db_, "INSERT INTO ports (container, proto, host_ip, host_port, ctr_port) VALUES (?, ?, ?, ?, ?)"));
        ins.bind(1, container).bind(2, std::string(net::proto_name(p.proto))).bind(3, or_empty(p.host_ip));
        TRY(ins.bind(4, int64_t{p.host_port}).bind(5, int64_t{p.ctr_port}).run());
        existing.push_back({container, p});
        out.push_back(p);
      }
    }
    return {};
  }));
  return out;
}

Result<std::vector<PortLease>> NetworkStore::all_ports() {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT container, proto, host_ip, host_port, ctr_port FROM ports ORDER BY container, host_port"));
  std::vector<PortLease> out;
  while (TRY(st.step())) {
    PortLease l{st.text(0), {}};
    l.port.proto = TRY(net::parse_proto(st.text(1)));
    if (!st.text(2).empty()) l.port.host_ip = TRY(net::IpAddress::parse(st.text(2)));
    l.port.host_port = static_cast<uint16_t>(st.i64(3));
    l.port.ctr_port = static_cast<uint16_t>(st.i64(4));
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<net::PublishedPort>> NetworkStore::ports(const std::string& container) {
  std::vector<net::PublishedPort> out;
  for (auto& l : TRY(all_ports()))
    if (l.container == container) out.push_back(l.port);
  return out;
}

Result<void> NetworkStore::release_locked(const std::string& container) {
  for (const char* sql : {"DELETE FROM endpoints WHERE container = ?", "DELETE FROM ports WHERE container = ?"}) {
    auto del = TRY(sql::Stmt::prepare(db_, sql));
    TRY(del.bind(1, container).run());
  }
  return {};
}

Result<NetworkStore::Released> NetworkStore::release(const std::string& container) {
  Released held{container, {}, {}};
  TRY(in_transaction([&]() -> Result<void> {
    held.endpoints = TRY(endpoints(container));
    held.ports = TRY(ports(container));
    return release_locked(container);
  }));
  return held;
}

Result<std::vector<NetworkStore::Released>> NetworkStore::release_gone(const std::function<bool(const std::string&)>& gone) {
  std::vector<Released> out;
  TRY(in_transaction([&]() -> Result<void> {
    auto st = TRY(sql::Stmt::prepare(db_, "SELECT container FROM endpoints UNION SELECT container FROM ports"));
    std::vector<std::string> holders;
    while (TRY(st.step())) holders.push_back(st.text(0));
    for (const auto& c : holders) {
      if (!gone(c)) continue;
      out.push_back({c, TRY(endpoints(c)), TRY(ports(c))});
      TRY(release_locked(c));
    }
    return {};
  }));
  return out;
}

}  // namespace tiffin::engine
