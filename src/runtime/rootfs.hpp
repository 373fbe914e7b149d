// The container's filesystem view, built inside its new mount namespace: the spec's mounts
// (each destination resolved inside the rootfs with RESOLVE_IN_ROOT, so a symlink in an image
// cannot point a mount at the host), /dev with its default devices and links, the cgroup
// hierarchies, then pivot_root (or a move + chroot), masked and read-only paths and a read-only
// root. Runs in the container's first process; every step says what it was doing when it fails.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

struct RootfsContext {
  std::string bundle;             // relative bind sources resolve against it
  const CgroupLayout* layout = nullptr;
  const Cgroup* cgroup = nullptr;  // the container's, bound in when there is no cgroup namespace
  bool cgroup_ns = false;
  bool user_ns = false;           // mknod is refused there: devices are bound from the host
};

// Propagation of "/", the rootfs bind, mounts and devices: everything before pivot_root but the
// cgroup filesystems, which must wait until the process is in its cgroup (and namespace).
Result<void> prepare_rootfs(const Spec& spec, const RootfsContext& ctx);
// The spec's mounts of type cgroup / cgroup2.
Result<void> mount_cgroup_filesystems(const Spec& spec, const RootfsContext& ctx);
// pivot_root into spec.root_path (or MS_MOVE + chroot with no_pivot); the old root is detached.
Result<void> enter_rootfs(const Spec& spec, bool no_pivot);
// After pivot_root: masked paths, read-only paths, root read-only, rootfs propagation.
Result<void> finish_rootfs(const Spec& spec);

// Bind-mounts `source_path` (a host path, e.g. a pty) over `dest` inside the current root.
Result<void> bind_file(const std::string& source_path, const std::string& dest);

}  // namespace tiffin::runtime
