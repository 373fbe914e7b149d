// What a microVM flake boots: the guest kernel (the host's newest in /boot unless one is named)
// and an initramfs with tiffin's guest init and the kernel's virtio and 9p modules, built once
// per kernel into `dir` and reused by every VM flake on the node.
#pragma once

#include <string>

#include "common/error.hpp"

namespace tiffin::flake {

struct VmGuest {
  std::string kernel, initrd;
};

Result<VmGuest> prepare_vm_guest(const std::string& dir, const std::string& init_binary, const std::string& kernel);

}  // namespace tiffin::flake
