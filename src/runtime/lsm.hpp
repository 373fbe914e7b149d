// The Linux security modules' labels a config can ask for: process.apparmorProfile,
// process.selinuxLabel and linux.mountLabel. A label asked for on a host without its module is
// refused, as runc refuses it, rather than the container running unconfined.
#pragma once

#include <string>

#include "common/error.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

bool apparmor_enabled();
bool selinux_enabled();

// Errc::unsupported naming the field when the host cannot apply a label that is set.
// linux.mountLabel is refused everywhere: tiffin-oci does not label mounts.
Result<void> check_lsm_labels(const Process& p, const std::string& mount_label = {});

// Makes the labels take effect at the next execve (AppArmor's "exec <profile>", SELinux's exec
// context), as runc does. Call before the seccomp filter: it opens and writes /proc files.
Result<void> apply_lsm_exec_labels(const Process& p);

}  // namespace tiffin::runtime
