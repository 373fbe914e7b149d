// Where the cgroup hierarchies are (and where a process's cgroup is in them): pure v1 (a mount per controller group), pure v2 (one unified
// mount), or hybrid (v1 controllers plus a v2 mount, usually /sys/fs/cgroup/unified, holding
// whatever controllers v1 does not — on this project's machines only hugetlb). Read from
// /proc/self/mountinfo, so it also works inside a container or a private mount namespace.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::runtime {

enum class CgroupMode { v1, v2, hybrid };

struct CgroupHierarchy {
  std::string mount_point;               // /sys/fs/cgroup/cpu,cpuacct
  std::string root;                      // the mount's root within the hierarchy ("/" on a host)
  std::vector<std::string> controllers;  // {"cpu", "cpuacct"}, {"name=systemd"}; for v2 those enabled
  bool v2 = false;

  bool has(std::string_view controller) const;
};

struct CgroupLayout {
  CgroupMode mode = CgroupMode::v2;
  std::vector<CgroupHierarchy> hierarchies;  // v2 (if any) first

  const CgroupHierarchy* find(std::string_view controller) const;
  const CgroupHierarchy* unified() const;
};

// Parses mountinfo text; `v2_controllers` is the unified root's cgroup.controllers content.
Result<CgroupLayout> parse_cgroup_layout(std::string_view mountinfo, std::string_view v2_controllers = {});
Result<CgroupLayout> detect_cgroup_layout();

const char* cgroup_mode_name(CgroupMode mode);

// The caller's own cgroup in a hierarchy, from /proc/self/cgroup text ("/user.slice/…"); "/"
// when the text does not name the hierarchy.
std::string own_cgroup(std::string_view proc_self_cgroup, const CgroupHierarchy& h);

// The directories of the cgroup a process is in, one per hierarchy of `layout` in its order (the
// order of Cgroup::dirs()), from the text of its /proc/<pid>/cgroup: "0::/path" for the unified
// hierarchy, "4:cpu,cpuacct:/path" for a v1 one. A hierarchy the text does not name, or whose
// path lies outside the mount's root, is left out. What a monitor that knows only a container's
// init pid needs to find its cgroup.
std::vector<std::string> cgroup_dirs_from_proc(const CgroupLayout& layout, std::string_view proc_pid_cgroup_text);

// The directory among `dirs` (one per hierarchy, as above) of the hierarchy holding
// `controller` ("" for the v2 one), known by the files it has; "" when none does.
std::string controller_dir(const std::vector<std::string>& dirs, std::string_view controller);

}  // namespace tiffin::runtime
