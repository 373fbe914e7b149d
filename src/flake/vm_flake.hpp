// A microVM flake's call (`tiffin flake register --vm`): the flake's image becomes a container's
// root filesystem (created, never started: its lazy mount under a writable layer, includes
// copied in), which a qemu microvm boots with over virtio-9p (vm/flake_vm.hpp); the app's
// stdio and exit code travel over a virtio console. The container goes when the call ends.
#pragma once

#include <string>

#include "common/error.hpp"
#include "flake/flake_config.hpp"
#include "flake/flake_launch.hpp"

namespace tiffin::flake {

Result<int> run_vm_flake(const std::string& name, const FlakeConfig& c, const Caller& call);

}  // namespace tiffin::flake
