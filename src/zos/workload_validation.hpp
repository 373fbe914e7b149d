// Whether a node can run a container workload as Zero-OS would: the rules a node checks before
// provisioning, against what the node has (its networks and volumes), so a workload that cannot
// run is refused with a message naming the field instead of failing half-way.
#pragma once

#include <optional>
#include <string>

#include "common/error.hpp"
#include "zos/workload.hpp"

namespace tiffin::zos {

// What validation asks the node; an interface so that tests need no engine.
struct NodeFacts {
  virtual ~NodeFacts() = default;
  // The node's subnet (CIDR, e.g. "10.1.3.0/24") of that network; nullopt: no such network here.
  virtual std::optional<std::string> network_subnet(const std::string& network_id) const = 0;
  virtual bool volume_exists(const std::string& volume_id) const = 0;
};

// Zero-OS's rules, the first one broken reported:
//  - flist is required; capacity.cpu >= 1; capacity.memory >= 64 (MiB); disk_type is hdd or ssd;
//  - environment and secret_environment names are non-empty without '=' or NUL, values without NUL;
//  - at most one network connection (tiffin gives a container one interface for now); its network
//    exists on this node and its ipaddress, when given, parses, lies in the node's subnet of it and
//    is not the subnet's network address, its gateway (the first host, .1) or its broadcast address;
//  - every volume exists; mountpoints are absolute, without "..", not "/", and distinct.
// Errc::invalid_input naming the field ("capacity.memory: …", "volumes[0].mountpoint: …"), or
// Errc::not_found for a network or volume the node does not have.
Result<void> validate_workload(const ContainerWorkload& w, const NodeFacts& node);

}  // namespace tiffin::zos
