#include "runtime/rootfs_plan.hpp"

#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>

#include "runtime/mount_options.hpp"

namespace tiffin::runtime {
namespace {

bool is_cgroup(const Mount& m) { return m.type == "cgroup" || m.type == "cgroup2"; }

// Flags a bind's remount must set: everything but the bind itself.
unsigned long remount_flags(unsigned long flags) { return flags & ~(MS_BIND | MS_REC | MS_REMOUNT); }

// A bind of `source` and the remount and propagation it needs.
void add_bind(std::vector<RootfsStep>& out, const std::string& source, const std::string& dest, const MountOptions& o, bool recursive) {
  out.push_back(BindStep{source, dest, recursive});
  if (unsigned long extra = remount_flags(o.flags)) out.push_back(RemountStep{dest, extra, o.clear_flags});
}

// The container's own directory in hierarchy `h`, or "".
std::string own_dir(const RootfsContext& ctx, const CgroupHierarchy& h) {
  for (const auto& d : ctx.cgroup_dirs)
    if (d.starts_with(h.mount_point + "/")) return d;
  return {};
}

// The cgroup hierarchies under `m.destination`: with a cgroup namespace the kernel shows the
// container's cgroup as the root of a fresh mount; without one the container's own directories
// are bound in. v2 is one mount; v1 and hybrid a tmpfs with a directory per hierarchy.
Result<void> plan_cgroups(std::vector<RootfsStep>& out, const Mount& m, const MountOptions& o, const RootfsContext& ctx) {
  if (!ctx.layout) return fail(Errc::internal, "mount " + m.destination + ": no cgroup layout");
  const CgroupLayout& layout = *ctx.layout;
  unsigned long flags = o.flags & ~(MS_BIND | MS_REC);
  // One hierarchy on `dest`: mounted fresh in a cgroup namespace (falling back to the bind on any
  // refusal), else bound.
  auto hierarchy = [&](const CgroupHierarchy& h, const std::string& dest, const std::string& fstype, const std::string& data,
                       unsigned long bind_flags, const MountOptions& bind_opts) -> Result<void> {
    std::string own = own_dir(ctx, h);
    if (ctx.cgroup_ns) {
      out.push_back(MountStep{dest, fstype, fstype, flags, data, own, bind_flags, bind_opts.clear_flags, 0});
      return {};
    }
    if (own.empty()) return fail(Errc::invalid_input, "mount " + dest + ": no cgroup namespace and no cgroup to bind");
    add_bind(out, own, dest, bind_opts, bind_flags & MS_REC);
    return {};
  };
  if (layout.mode == CgroupMode::v2) {
    MountOptions bind = o;
    bind.flags = MS_BIND | MS_REC | flags;
    return hierarchy(layout.hierarchies.at(0), m.destination, "cgroup2", "", bind.flags, bind);
  }
  out.push_back(MountStep{m.destination, "tmpfs", "tmpfs", flags & ~MS_RDONLY, "mode=755", "", 0, 0, 0});
  for (const auto& h : layout.hierarchies) {
    std::string base = std::filesystem::path(h.mount_point).filename().string();
    std::string dest = m.destination + "/" + base;
    std::string data;
    for (const auto& c : h.controllers) data += (data.empty() ? "" : ",") + c;
    if (!h.v2 && data.starts_with("name=")) data = "none," + data;
    MountOptions bind;
    bind.flags = MS_BIND | flags;
    TRY(hierarchy(h, dest, h.v2 ? "cgroup2" : "cgroup", h.v2 ? "" : data, bind.flags, bind));
    // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
    if (base.find(',') != std::string::npos)
      for (const auto& c : h.controllers) out.push_back(SymlinkStep{base, m.destination + "/" + c, false, true, ""});
  }
  if (flags & MS_RDONLY) out.push_back(RemountStep{m.destination, MS_RDONLY, 0});
  return {};
}

Result<void> plan_mount(std::vector<RootfsStep>& out, const Mount& m, const RootfsContext& ctx) {
  MountOptions o = TRY_CTX(parse_mount_options(m.options), "mount " + m.destination);
  if (is_cgroup(m)) return plan_cgroups(out, m, o, ctx);
  if (o.is_bind() || m.type == "bind") {
    if (m.source.empty()) return fail(Errc::invalid_input, "mount " + m.destination + ": a bind mount needs a source");
    std::string source = m.source[0] == '/' ? m.source : ctx.bundle + "/" + m.source;
    add_bind(out, source, m.destination, o, o.flags & MS_REC);
  } else {
    MountStep step{m.destination, m.type, m.source, o.flags & ~MS_REMOUNT, o.data, "", 0, o.clear_flags, EPERM};
    // Without its own network (sysfs) or IPC (mqueue) namespace the kernel refuses a fresh
    // instance to a user namespace: the host's is bound, read-only, as runc does.
    if (m.type == "sysfs" || m.type == "mqueue") {
      step.fallback_source = m.type == "sysfs" ? "/sys" : "/dev/mqueue";
      step.fallback_flags = MS_BIND | MS_REC | MS_RDONLY | (o.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
    }
    out.push_back(std::move(step));
  }
  if (o.propagation) out.push_back(PropagationStep{m.destination, o.propagation});
  return {};
}

struct DefaultDevice {
  const char* name;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

bool has_mount_at(const Spec& spec, const std::string& dest) {
  for (const auto& m : spec.mounts)
    if (std::filesystem::path(m.destination).lexically_normal() == std::filesystem::path(dest)) return true;
  return false;
}

Result<void> plan_dev(std::vector<RootfsStep>& out, const Spec& spec, const RootfsContext& ctx) {
  // A /dev bound from the host already has everything.
  for (const auto& m : spec.mounts)
    if (m.destination == "/dev" && (m.type == "bind" || TRY(parse_mount_options(m.options)).is_bind())) return {};
  auto device = [&](const std::string& path, mode_t type, unsigned major, unsigned minor, mode_t mode, uid_t uid, gid_t gid) {
    if (ctx.user_ns && type != S_IFIFO) out.push_back(BindDeviceStep{path});
    else out.push_back(DeviceStep{path, type, major, minor, mode, uid, gid});
  };
  for (const auto& d : kDefaultDevices) device(std::string("/dev/") + d.name, S_IFCHR, d.major, d.minor, 0666, 0, 0);
  for (const auto& d : spec.linux.devices) {
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    device(d.path, type, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor), d.file_mode.value_or(0666) & 07777,
        d.uid.value_or(0), d.gid.value_or(0));
  }
  for (const auto& [target, name] :
      {std::pair{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}})
    out.push_back(SymlinkStep{target, std::string("/dev/") + name, false, false, ""});
  out.push_back(SymlinkStep{"/proc/kcore", "/dev/core", false, true, "/proc/kcore"});
  if (has_mount_at(spec, "/dev/pts")) out.push_back(SymlinkStep{"pts/ptmx", "/dev/ptmx", true, false, ""});
  return {};
}

}  // namespace

Result<RootfsPlan> plan_rootfs(const Spec& spec, const RootfsContext& ctx) {
  RootfsPlan plan;
  // Nothing mounted in here may propagate back to the host; a shared root is made shared only
  // after pivot_root, below it. An unbindable one too: the rootfs is bind-mounted from under
  // "/" first, which an unbindable "/" refuses (EINVAL), as runc sets it after pivot_root.
  unsigned long requested = propagation_flags(spec.linux.rootfs_propagation);
  unsigned long prop = spec.linux.rootfs_propagation.empty() ? MS_SLAVE | MS_REC : requested;
  if (prop & (MS_SHARED | MS_UNBINDABLE)) prop = MS_SLAVE | MS_REC;
  plan.mounts.push_back(RootPropagationStep{prop});
  plan.mounts.push_back(BindRootfsStep{spec.root_path});
  for (const auto& m : spec.mounts) TRY(plan_mount(is_cgroup(m) ? plan.cgroups : plan.mounts, m, ctx));
  TRY(plan_dev(plan.mounts, spec, ctx));
  for (const auto& p : spec.linux.masked_paths) plan.after_pivot.push_back(MaskStep{p});
  for (const auto& p : spec.linux.readonly_paths) plan.after_pivot.push_back(ReadonlyPathStep{p});
  if (spec.root_readonly) plan.after_pivot.push_back(RemountStep{"/", MS_RDONLY, 0});
  if (requested & (MS_SHARED | MS_UNBINDABLE)) plan.after_pivot.push_back(RootPropagationStep{requested});
  return plan;
}

namespace {

std::string flags_text(unsigned long flags) {
  static const std::pair<unsigned long, const char*> names[] = {{MS_RDONLY, "ro"}, {MS_NOSUID, "nosuid"}, {MS_NODEV, "nodev"},
      {MS_NOEXEC, "noexec"}, {MS_NOATIME, "noatime"}, {MS_NODIRATIME, "nodiratime"}, {MS_RELATIME, "relatime"},
      {MS_STRICTATIME, "strictatime"}, {MS_BIND, "bind"}, {MS_SHARED, "shared"}, {MS_SLAVE, "slave"}, {MS_PRIVATE, "private"},
      {MS_UNBINDABLE, "unbindable"}, {MS_SYNCHRONOUS, "sync"}, {MS_DIRSYNC, "dirsync"}, {MS_MANDLOCK, "mand"}, {MS_REMOUNT, "remount"},
      {MS_REC, "rec"}};
  std::string out;
  for (const auto& [bit, name] : names)
    if (flags & bit) {
      out += (out.empty() ? "" : ",") + std::string(name);
      flags &= ~bit;
    }
  if (flags)
    out += (out.empty() ? "0x" : ",0x") + [&] {
      char b[32];
      std::snprintf(b, sizeof b, "%lx", flags);
      return std::string(b);
    }();
  return out.empty() ? "-" : out;
}

std::string device_type(mode_t type) { return type == S_IFBLK ? "b" : type == S_IFIFO ? "p" : "c"; }

struct Describe {
  std::string operator()(const RootPropagationStep& s) const { return "propagation / " + flags_text(s.flags); }
  std::string operator()(const BindRootfsStep& s) const { return "bind rootfs " + s.path; }
  std::string operator()(const MountStep& s) const {
    std::string out = "mount " + s.type + " " + s.source + " on " + s.destination + " " + flags_text(s.flags);
    if (!s.data.empty()) out += " " + s.data;
    if (!s.fallback_source.empty())
      out += " else bind " + s.fallback_source + " " + flags_text(s.fallback_flags) +
             (s.fallback_on ? " on errno " + std::to_string(s.fallback_on) : "");
    return out;
  }
  std::string operator()(const BindStep& s) const { return "bind " + s.source + " on " + s.destination + (s.recursive ? " rec" : ""); }
  std::string operator()(const RemountStep& s) const {
    return "remount " + s.destination + " " + flags_text(s.flags) + (s.clear ? " clear " + flags_text(s.clear) : "");
  }
  std::string operator()(const PropagationStep& s) const { return "propagation " + s.destination + " " + flags_text(s.flags); }
  std::string operator()(const DeviceStep& s) const {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(s.mode));
    return "mknod " + s.path + " " + device_type(s.type) + " " + std::to_string(s.major) + ":" + std::to_string(s.minor) + " " + mode +
           " " + std::to_string(s.uid) + ":" + std::to_string(s.gid);
  }
  std::string operator()(const BindDeviceStep& s) const { return "bind device " + s.path; }
  std::string operator()(const SymlinkStep& s) const {
    return "symlink " + s.path + " -> " + s.target + (s.replace ? " replace" : "") + (s.best_effort ? " best-effort" : "") +
           (s.only_if_exists.empty() ? "" : " if " + s.only_if_exists + " exists");
  }
  std::string operator()(const MaskStep& s) const { return "mask " + s.path; }
  std::string operator()(const ReadonlyPathStep& s) const { return "readonly " + s.path; }
};

}  // namespace

std::string describe(const RootfsStep& step) { return std::visit(Describe{}, step); }

std::vector<std::string> describe(const std::vector<RootfsStep>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(describe(s));
  return out;
}

}  // namespace tiffin::runtime
