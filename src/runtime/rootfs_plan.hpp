// What the container's filesystem view is to be, decided from the Spec alone: every mount with
// its flags, data and propagation, binds and the remounts they need, the cgroup hierarchies, the
// /dev devices (made, or bound from the host in a user namespace) and links, the masked and
// read-only paths, and the root's propagation and read-only remount. A pure function of
// (Spec, RootfsContext), so each decision is testable without root; rootfs.hpp carries a plan out
// (and resolves each destination there, inside the rootfs).
#pragma once

#include <sys/types.h>

#include <string>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "runtime/cgroup_layout.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

struct RootfsContext {
  std::string bundle;                    // relative bind sources resolve against it
  const CgroupLayout* layout = nullptr;  // the hierarchies a cgroup mount shows
  std::vector<std::string> cgroup_dirs;  // the container's, bound in when there is no cgroup namespace
  bool cgroup_ns = false;
  bool user_ns = false;  // mknod is refused there: devices are bound from the host
};

// Destinations are absolute paths in the container; sources of binds are host paths.

// mount(nullptr, "/", flags): the propagation of the whole current root (the host's "/" in the
// new mount namespace before pivot_root, the container's after).
struct RootPropagationStep {
  unsigned long flags = 0;
  bool operator==(const RootPropagationStep&) const = default;
};
// The rootfs bound on itself and made private: pivot_root needs a mount point whose parent is
// not shared.
struct BindRootfsStep {
  std::string path;
  bool operator==(const BindRootfsStep&) const = default;
};
// A filesystem mounted on a destination. When the kernel refuses it (`fallback_on` errno, or any
// error when it is 0) and `fallback_source` is set, that host path is bound there instead, with
// `fallback_flags` (the bind, then a remount for the rest, as BindStep and RemountStep).
struct MountStep {
  std::string destination, type, source;
  unsigned long flags = 0;
  std::string data;
  std::string fallback_source;
  unsigned long fallback_flags = 0, fallback_clear = 0;
  int fallback_on = 0;
  bool operator==(const MountStep&) const = default;
};
// A host path bound on a destination, which is made a directory or a file like the source.
struct BindStep {
  std::string source, destination;
  bool recursive = false;
  bool operator==(const BindStep&) const = default;
};
// A bind remounted with the flags a bind cannot take itself (ro, nosuid, …); flags a user
// namespace locked are kept unless `clear` turns them off.
struct RemountStep {
  std::string destination;
  unsigned long flags = 0, clear = 0;
  bool operator==(const RemountStep&) const = default;
};
struct PropagationStep {
  std::string destination;
  unsigned long flags = 0;  // MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE, maybe | MS_REC
  bool operator==(const PropagationStep&) const = default;
};
// mknod with the spec's mode and owner (the umask does not apply).
struct DeviceStep {
  std::string path;
  mode_t type = 0;  // S_IFCHR, S_IFBLK, S_IFIFO
  unsigned major = 0, minor = 0;
  mode_t mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
  bool operator==(const DeviceStep&) const = default;
};
// The host's device at the same path bound over an empty file (in a user namespace).
struct BindDeviceStep {
  std::string path;
  bool operator==(const BindDeviceStep&) const = default;
};
// A symlink; `replace` removes what is there first, `best_effort` ignores failure, and
// `only_if_exists` (a host path) skips it when that does not exist.
struct SymlinkStep {
  std::string target, path;
  bool replace = false, best_effort = false;
  std::string only_if_exists;
  bool operator==(const SymlinkStep&) const = default;
};
// After pivot_root: a directory hidden under an empty read-only tmpfs, a file under /dev/null.
struct MaskStep {
  std::string path;
  bool operator==(const MaskStep&) const = default;
};
// After pivot_root: a path bound on itself read-only.
struct ReadonlyPathStep {
  std::string path;
  bool operator==(const ReadonlyPathStep&) const = default;
};

using RootfsStep = std::variant<RootPropagationStep, BindRootfsStep, MountStep, BindStep, RemountStep, PropagationStep, DeviceStep,
    BindDeviceStep, SymlinkStep, MaskStep, ReadonlyPathStep>;

struct RootfsPlan {
  // In the new mount namespace: the root's propagation, the rootfs bind, the spec's mounts but the
  // cgroup ones, /dev.
  std::vector<RootfsStep> mounts;
  // Once the init is in its cgroup (and cgroup namespace): the spec's cgroup mounts.
  std::vector<RootfsStep> cgroups;
  // After pivot_root, with "/" the container's root: masked and read-only paths, the read-only
  // root, a shared root's propagation.
  std::vector<RootfsStep> after_pivot;
};

// Errc::invalid_input for a mount that cannot mean anything (bad options, a bind without a
// source, a cgroup mount with neither a cgroup namespace nor the container's directory).
Result<RootfsPlan> plan_rootfs(const Spec& spec, const RootfsContext& ctx);

// One line per step ("bind /b/data on /data (rec)", "remount /data ro,nosuid"), for tests and
// debugging.
std::string describe(const RootfsStep& step);
std::vector<std::string> describe(const std::vector<RootfsStep>& steps);

}  // namespace tiffin::runtime
