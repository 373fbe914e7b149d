// OCI hooks: each is run with the container's state JSON on its stdin, its own args and env, and
// killed when it outlives its timeout. A failing hook is an error naming the phase and the path.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

Result<void> run_hooks(const std::vector<Hook>& hooks, const std::string& state_json, const std::string& phase);

}  // namespace tiffin::runtime
