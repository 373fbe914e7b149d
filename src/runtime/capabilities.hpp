// The five capability sets of process.capabilities applied to the calling process with libcap.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

// Drops every capability outside `bounding` from the bounding set (needs CAP_SETPCAP, so it
// runs before the user switch).
Result<void> drop_bounding_set(const std::vector<std::string>& bounding);
// Sets effective, permitted and inheritable, then raises the ambient ones.
Result<void> apply_capabilities(const Capabilities& caps);

// Docker's default capability set, the one tiffin's engine gives containers.
const std::vector<std::string>& docker_default_capabilities();
// Every capability in the caller's bounding set ("CAP_CHOWN" …): what --privileged grants.
std::vector<std::string> all_capabilities();
bool known_capability(const std::string& name);  // "CAP_NET_ADMIN" or "net_admin"

}  // namespace tiffin::runtime
