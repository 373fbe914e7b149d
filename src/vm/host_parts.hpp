// What a VM takes from its host: the newest Debian kernel in /boot and its modules (with their
// dependencies, in load order), and the shared libraries a program needs (as the loader resolves
// them), so a guest runs the host's own binaries.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::vm {

struct HostKernel {
  std::string version;  // 6.1.0-57-amd64
  std::string image;    // /boot/vmlinuz-…
};
// not_found with what to install when /boot has none.
Result<HostKernel> newest_kernel();
// The .ko files for `modules` and what they depend on, dependencies first, each once
// (modprobe --show-depends); modules built into the kernel give none.
Result<std::vector<std::string>> module_files(const std::string& version, const std::vector<std::string>& modules);
// The absolute paths of the shared libraries `program` loads (ldd), the loader included.
Result<std::vector<std::string>> shared_libraries(const std::string& program);

}  // namespace tiffin::vm
