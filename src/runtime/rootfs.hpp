// The container's filesystem view carried out inside its new mount namespace, from a RootfsPlan
// (rootfs_plan.hpp: what to mount, decided from the Spec): each destination resolved inside the
// rootfs with openat2 RESOLVE_IN_ROOT, so a symlink in an image cannot point a mount at the host,
// binds remounted through a fresh fd of the new mount; then pivot_root (or a move + chroot).
// Runs in the container's first process; every step says what it was doing when it fails.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/rootfs_plan.hpp"

namespace tiffin::runtime {

// Carries out one phase of a plan in order. `root` is the rootfs before pivot_root and "/" after;
// destinations resolve inside it.
Result<void> apply_rootfs_steps(const std::vector<RootfsStep>& steps, const std::string& root);
// pivot_root into `rootfs` (or MS_MOVE + chroot with no_pivot); the old root is detached.
Result<void> enter_rootfs(const std::string& rootfs, bool no_pivot);

// Bind-mounts `source_path` (a host path, e.g. a pty) over `dest` inside the current root.
Result<void> bind_file(const std::string& source_path, const std::string& dest);

}  // namespace tiffin::runtime
