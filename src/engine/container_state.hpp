// A container's state as the engine reports it, derived from what it can observe: the shim's
// record (its status file, or its answer), whether the shim lives, and — only when the shim is
// gone but its record says the container was active — what the runtime sees. A pure function,
// so the rules are unit-tested without root:
//   · a live shim is the authority;
//   · without a shim, processes the runtime still sees win (a shim killed under a running
//     container leaves a running container, which `stop` and `rm -f` still handle);
//   · without a shim or processes, an active record means the container died with its shim:
//     exited, 137 unless it had recorded a code of its own.
#pragma once

#include <optional>

#include "runtime/container_state.hpp"
#include "shim/shim_status.hpp"

namespace tiffin::engine {

using shim::ContainerStatus;
using shim::ShimStatus;

struct RuntimeView {
  runtime::Status status = runtime::Status::stopped;
  int pid = 0;
};

// Whether derive_state needs the runtime's view (reading it costs a state file and /proc).
bool needs_runtime_view(const std::optional<ShimStatus>& recorded, bool shim_alive);

ShimStatus derive_state(const std::optional<ShimStatus>& recorded, bool shim_alive, const std::optional<RuntimeView>& runtime);

}  // namespace tiffin::engine
