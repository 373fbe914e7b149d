#include "runtime/cgroup_layout.hpp"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include "common/fd.hpp"
#include "common/mountinfo.hpp"
#include "common/text.hpp"

namespace tiffin::runtime {
namespace {

const std::vector<std::string> kV1Controllers = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "net_cls",
    "net_prio", "perf_event", "hugetlb", "rdma", "misc"};

}  // namespace

bool CgroupHierarchy::has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

const CgroupHierarchy* CgroupLayout::find(std::string_view controller) const {
  for (const auto& h : hierarchies)
    if (h.has(controller)) return &h;
  return nullptr;
}

const CgroupHierarchy* CgroupLayout::unified() const {
  for (const auto& h : hierarchies)
    if (h.v2) return &h;
  return nullptr;
}

const char* cgroup_mode_name(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::v1: return "v1";
    case CgroupMode::v2: return "v2";
    case CgroupMode::hybrid: return "hybrid";
  }
  return "?";
}

Result<CgroupLayout> parse_cgroup_layout(std::string_view mountinfo, std::string_view v2_controllers) {
  CgroupLayout layout;
  std::vector<CgroupHierarchy> v1;
  for (const auto& m : parse_mountinfo(mountinfo)) {
    if (m.fstype != "cgroup" && m.fstype != "cgroup2") continue;
    CgroupHierarchy h;
    h.root = m.root;
    h.mount_point = m.mount_point;
    if (m.fstype == "cgroup2") {
      h.v2 = true;
      std::string list(v2_controllers);
      std::replace(list.begin(), list.end(), '\n', ' ');
      for (auto& c : split(list, ' '))
        if (!c.empty()) h.controllers.push_back(c);
      // A second mount of the same hierarchy (a bind elsewhere) adds nothing.
      if (!layout.unified()) layout.hierarchies.insert(layout.hierarchies.begin(), std::move(h));
      continue;
    }
    for (const auto& opt : split(m.super_options, ',')) {
      if (opt.starts_with("name=") || std::find(kV1Controllers.begin(), kV1Controllers.end(), opt) != kV1Controllers.end())
        h.controllers.push_back(opt);
    }
    if (h.controllers.empty()) continue;
    bool seen = std::any_of(v1.begin(), v1.end(), [&](auto& o) { return o.controllers == h.controllers; });
    if (!seen) v1.push_back(std::move(h));
  }
  for (auto& h : v1) layout.hierarchies.push_back(std::move(h));
  bool has_v2 = layout.unified() != nullptr;
  if (v1.empty() && !has_v2) return fail(Errc::unsupported, "no cgroup hierarchy is mounted");
  layout.mode = v1.empty() ? CgroupMode::v2 : has_v2 ? CgroupMode::hybrid : CgroupMode::v1;
  return layout;
}

Result<CgroupLayout> detect_cgroup_layout() {
  Bytes info = TRY_CTX(read_file("/proc/self/mountinfo"), "reading mountinfo");
  std::string_view text(reinterpret_cast<const char*>(info.data()), info.size());
  CgroupLayout layout = TRY(parse_cgroup_layout(text));
  if (const CgroupHierarchy* u = layout.unified()) {
    if (auto controllers = read_file(u->mount_point + "/cgroup.controllers"))
      layout = TRY(parse_cgroup_layout(text, std::string_view(reinterpret_cast<const char*>(controllers->data()), controllers->size())));
  }
  return layout;
}

namespace {

// The path of hierarchy `h` in /proc/<pid>/cgroup text, whose lines are
// "hierarchy-id:controller-list:path" (the unified hierarchy's list is empty); "" when absent.
// (A string, not an optional: GCC 12 at -O2 takes the optional's string for uninitialized.)
std::string path_in(std::string_view proc_cgroup, const CgroupHierarchy& h) {
  for (const auto& line : split(proc_cgroup, '\n')) {
    size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string list = line.substr(a + 1, b - a - 1);
    if (h.v2 ? list.empty() : split(list, ',') == h.controllers) return line.substr(b + 1);
  }
  return {};
}

}  // namespace

std::string own_cgroup(std::string_view proc_self_cgroup, const CgroupHierarchy& h) {
  std::string path = path_in(proc_self_cgroup, h);
  return path.empty() ? "/" : path;
}

std::vector<std::string> cgroup_dirs_from_proc(const CgroupLayout& layout, std::string_view proc_pid_cgroup) {
  std::vector<std::string> dirs;
  for (const auto& h : layout.hierarchies) {
    std::string path = path_in(proc_pid_cgroup, h);
    if (path.empty() || path[0] != '/') continue;
    // A mount of a sub-tree (inside a container) shows paths below its root only.
    if (h.root != "/") {
      if (path != h.root && !path.starts_with(h.root + "/")) continue;
      path = path.substr(h.root.size());
    }
    dirs.push_back(h.mount_point + (path == "/" ? "" : path));
  }
  return dirs;
}

std::string controller_dir(const std::vector<std::string>& dirs, std::string_view controller) {
  // Each hierarchy is known by a file only it has: cgroup.controllers for v2, a file of the
  // controller's ("memory.limit_in_bytes", "cpu.shares") for a v1 one.
  std::string probe = controller.empty()         ? "/cgroup.controllers"
                      : controller == "devices"  ? "/devices.list"
                      : controller == "freezer"  ? "/freezer.state"
                      : controller == "cpuset"   ? "/cpuset.cpus"
                      : controller == "pids"     ? "/pids.max"
                      : controller == "memory"   ? "/memory.limit_in_bytes"
                      : controller == "cpu"      ? "/cpu.shares"
                      : controller == "blkio"    ? "/blkio.throttle.read_bps_device"
                      : controller == "hugetlb"  ? "/hugetlb.2MB.limit_in_bytes"
                      : controller == "net_cls"  ? "/net_cls.classid"
                      : controller == "net_prio" ? "/net_prio.ifpriomap"
                      : controller == "rdma"     ? "/rdma.max"
                                                 : "/" + std::string(controller) + ".stat";
  for (const auto& d : dirs)
    if (::access((d + probe).c_str(), F_OK) == 0) return d;
  return {};
}

}  // namespace tiffin::runtime
