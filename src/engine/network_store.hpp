// The node's networks, their address leases and published ports, in the engine's SQLite: the
// bookkeeping half of networking, testable without root (the kernel half is
// container_network.cpp). Every allocation runs in a write transaction, so concurrent CLIs
// never lease one address or host port twice; a lease names its container, and leases of
// containers that are gone are reclaimed by the next allocation on their network.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/sqlite.hpp"
#include "net/address.hpp"
#include "net/port_spec.hpp"

namespace tiffin::engine {

// The network a container joins when it names none (docker's "bridge"; that name works too).
// Its bridge is named like every other's, tf-<id>: engines with different roots on one host
// (tests, users) each have a default network, and must not share a bridge.
inline constexpr const char* kDefaultNetwork = "tiffin";

struct NetworkSpec {
  std::string name, driver = "bridge";    // bridge, or zos (a Zero-OS network resource: zos_network_store.hpp)
  std::string bridge;                     // "" : tf-<id>
  std::string subnet, gateway, ip_range;  // "" : chosen
  bool ipv6 = false;
  std::string subnet6, gateway6;  // with ipv6; subnet6 "" : a ULA /64 chosen
  bool internal = false;
  std::map<std::string, std::string> labels;
};

struct Network {
  std::string id, name, driver, bridge;
  net::Cidr subnet, ip_range;
  net::IpAddress gateway;
  std::optional<net::Cidr> subnet6;
  std::optional<net::IpAddress> gateway6;
  bool internal = false;
  std::map<std::string, std::string> labels;
  int64_t created = 0;
};

// A container's place on a network: its lease.
struct Endpoint {
  std::string container, network_id, network_name;
  std::string ifname;       // inside the container: eth0, eth1, …
  std::string host_ifname;  // the veth's host end, on the network's bridge
  net::IpAddress ip;
  std::optional<net::IpAddress> ip6;
  std::string mac;
  std::vector<std::string> aliases;
};

struct EndpointRequest {
  std::string network;  // name or id
  std::optional<net::IpAddress> ip, ip6;
  std::string mac;  // "" : derived from the address, as docker does
  std::vector<std::string> aliases;
};

struct PortLease {
  std::string container;
  net::PublishedPort port;
};

class NetworkStore {
 public:
  explicit NetworkStore(sql::Db& db) : db_(db) {}

  // `host_routes`: subnets a chosen subnet must avoid besides the other networks'. An explicit
  // subnet overlapping another network is refused (Errc::conflict); a name in use too.
  Result<Network> create(const NetworkSpec& spec, const std::vector<net::Cidr>& host_routes);
  // The default network, made on first use; `host_routes` is asked only then (every `run` on
  // the default network comes here, and reading the host's routes is not free).
  Result<Network> ensure_default(const std::function<std::vector<net::Cidr>()>& host_routes);
  // By name, id or unique id prefix; "bridge" is the default network.
  Result<Network> find(const std::string& ref);
  Result<std::vector<Network>> list();
  // Errc::conflict while a container holds a lease on it.
  Result<void> remove(const std::string& network_id);

  // Leases an address (the requested one, or the first free) for `container` on a network. On a
  // zos network the IPv6 address is Zero-OS's, derived from the IPv4 one.
  // Errc::conflict for an address in use or a container already on the network;
  // Errc::unavailable when the network is full.
  Result<Endpoint> attach(const std::string& container, const EndpointRequest& r);
  Result<std::vector<Endpoint>> endpoints(const std::string& container);
  Result<std::vector<Endpoint>> endpoints_on(const std::string& network_id);
  Result<void> detach(const std::string& container, const std::string& network_id);

  // Records `ports` for `container`: a host port of 0 is given a free one `port_free` accepts
  // (ExpandedPorts' pick_until ranges too); a host port another container publishes is
  // Errc::conflict, one `port_free` refuses as well (something else on the host has it).
  Result<std::vector<net::PublishedPort>> publish(const std::string& container, const std::vector<net::ExpandedPorts>& ports,
      const std::function<bool(const net::PublishedPort&)>& port_free);
  Result<std::vector<net::PublishedPort>> ports(const std::string& container);
  Result<std::vector<PortLease>> all_ports();

  // What a container held, for undoing kernel state after its leases were dropped.
  struct Released {
    std::string container;
    std::vector<Endpoint> endpoints;
    std::vector<net::PublishedPort> ports;
  };
  // Drops every lease and port of the container.
  Result<Released> release(const std::string& container);
  // Containers holding leases or ports whose ids `gone` accepts (their records or directories
  // went without a remove: a --rm container, a CLI killed half way): released.
  Result<std::vector<Released>> release_gone(const std::function<bool(const std::string&)>& gone);

 private:
  Result<void> in_transaction(const std::function<Result<void>()>& body);
  Result<std::vector<Network>> select_networks(const std::string& where, const std::string& arg);
  Result<std::vector<Endpoint>> select_endpoints(const std::string& where, const std::string& arg);
  Result<void> release_locked(const std::string& container);

  sql::Db& db_;
};

// docker's MAC for an IPv4 address: 02:42 and the four address bytes.
std::string mac_for(const net::IpAddress& ip);

}  // namespace tiffin::engine
