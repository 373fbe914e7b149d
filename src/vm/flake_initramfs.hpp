// The initramfs of a flake's microVM: /init is tiffin-vminit (vm/guest_init), beside the kernel
// modules it needs to reach the host (virtio-mmio, the virtio-serial port, the 9p root) and
// their list in load order. Nothing else: the app's root is the host directory over 9p. Built
// once when a flake is registered and cached by the caller (it takes well under a second).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::vm {

// The modules guest_init loads; their dependencies come along (modprobe --show-depends).
const std::vector<std::string>& flake_vm_modules();

struct FlakeInitramfsSpec {
  std::string path;            // written here
  std::string vminit;          // the static tiffin-vminit binary
  std::string kernel_version;  // 6.1.0-57-amd64: its /lib/modules
  // Uncompressed by default: the kernel unpacks a plain cpio faster than it inflates a gzip'ed
  // one, and this one is a few MiB (measured in docs/ARCHITECTURE.md, flake VMs).
  bool gzip = false;
};
Result<void> build_flake_initramfs(const FlakeInitramfsSpec& spec);

}  // namespace tiffin::vm
