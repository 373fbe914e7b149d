// Address management, the pure part: which address or subnet is free given what is taken. The
// engine keeps the leases in SQLite and calls these inside a write transaction, so two
// concurrent `run`s never get one address (engine/networks.cpp).
#pragma once

#include <optional>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "net/address.hpp"

namespace tiffin::net {

// The first address of `range` (inside `subnet`) that is not the network address, the IPv4
// broadcast address, the gateway or in `taken`; nullopt when the range is full.
std::optional<IpAddress> first_free_address(
    const Cidr& subnet, const Cidr& range, const IpAddress& gateway, const std::set<IpAddress>& taken);

// The gateway a subnet gets when none is given: its first host address.
IpAddress default_gateway(const Cidr& subnet);

// The first of `candidates` that overlaps none of `in_use` (other networks, the host's routes).
std::optional<Cidr> first_free_subnet(const std::vector<Cidr>& candidates, const std::vector<Cidr>& in_use);

// The IPv4 destinations of the host's routes (/proc/net/route), default route excluded.
std::vector<Cidr> host_routes_v4();

// Checks a network's addressing: the gateway and the range inside the subnet, a range of at
// least one usable address, IPv4 subnets no smaller than /30.
Result<void> check_network_addressing(const Cidr& subnet, const IpAddress& gateway, const Cidr& range);

}  // namespace tiffin::net
