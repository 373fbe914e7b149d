#include "engine/container_state.hpp"

namespace tiffin::engine {

bool needs_runtime_view(const std::optional<ShimStatus>& recorded, bool shim_alive) {
  return !shim_alive && (!recorded || is_active(recorded->status));
}

ShimStatus derive_state(const std::optional<ShimStatus>& recorded, bool shim_alive, const std::optional<RuntimeView>& runtime) {
  ShimStatus s = recorded.value_or(ShimStatus{});
  if (shim_alive) return s;
  if (runtime) {
    switch (runtime->status) {
      case runtime::Status::running:
      case runtime::Status::paused:
        s.status = runtime->status == runtime::Status::paused ? ContainerStatus::paused : ContainerStatus::running;
        s.pid = runtime->pid;
        return s;
      case runtime::Status::created:
      case runtime::Status::creating:
        // Made by the runtime, never released into its program: its shim died while starting it.
        s.status = ContainerStatus::created;
        s.pid = 0;
        return s;
      case runtime::Status::stopped: break;
    }
  }
  if (is_active(s.status)) {
    s.status = ContainerStatus::exited;
    if (s.exit_code == 0) s.exit_code = 137;  // killed along with its shim
  }
  s.pid = 0;
  return s;
}

}  // namespace tiffin::engine
