// OCI hooks: each is run with the container's state JSON on its stdin, its own args and env, and
// killed when it outlives its timeout. A failing hook is an error naming the phase and the path.
// The spec's rules on failure differ by phase: prestart, createRuntime, createContainer and
// startContainer stop the container (run_hooks stops at the first failure); poststart and
// poststop only warn, and the remaining hooks still run (run_hooks_warning).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

Result<void> run_hooks(const std::vector<Hook>& hooks, const std::string& state_json, const std::string& phase);
// Runs every hook; each failure is a "tiffin-oci: warning: …" line on stderr.
void run_hooks_warning(const std::vector<Hook>& hooks, const std::string& state_json, const std::string& phase);

}  // namespace tiffin::runtime
