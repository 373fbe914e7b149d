#include "runtime/rootfs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "runtime/mount_options.hpp"

namespace tiffin::runtime {
namespace {

// openat2 with RESOLVE_IN_ROOT: ".." and absolute symlinks stop at `root`.
int open_in_root(int root, const std::string& rel, int flags) {
  struct open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Resolves `dest` (absolute, in container terms) inside `root`, creating what is missing: the
// parents as directories and the last part as a directory or, with `as_file`, an empty file.
Result<UniqueFd> make_in_root(int root, const std::string& dest, bool as_file) {
  UniqueFd cur(::dup(root));
  std::string sofar;
  auto parts = std::filesystem::path(dest).relative_path();
  size_t n = std::distance(parts.begin(), parts.end()), i = 0;
  for (const auto& part : parts) {
    ++i;
    std::string name = part.string();
    if (name == "." || name.empty()) continue;
    sofar += "/" + name;
    UniqueFd next(open_in_root(root, sofar, O_PATH));
    if (!next && errno == ENOENT) {
      // `cur` is already resolved inside the root, so creating a plain name in it is safe.
      if (i == n && as_file) {
        UniqueFd f(::openat(cur.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!f && errno != EEXIST) return fail_errno("creating " + dest);
      } else if (::mkdirat(cur.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        return fail_errno("creating " + sofar + " for " + dest);
      }
      next = UniqueFd(open_in_root(root, sofar, O_PATH));
    }
    if (!next) return fail_errno("resolving " + sofar + " in the rootfs");
    cur = std::move(next);
  }
  return cur;
}

// Flags a remount must keep or the kernel refuses it (locked by a user namespace).
unsigned long locked_flags(const std::string& path) {
  struct statvfs sv;
  if (::statvfs(path.c_str(), &sv) != 0) return 0;
  unsigned long out = 0;
  if (sv.f_flag & ST_NOSUID) out |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) out |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) out |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) out |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) out |= MS_RELATIME;
  return out;
}

Result<void> remount_bind(const std::string& target, unsigned long flags, unsigned long clear) {
  unsigned long keep = locked_flags(target) & ~clear;
  if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | keep | flags, nullptr) != 0)
    return fail_errno("remounting " + target);
  return {};
}

// The mount now on top at `dest`: an fd taken before a mount still points below it.
Result<UniqueFd> reopen(int root, const std::string& dest) {
  UniqueFd fd(open_in_root(root, dest, O_PATH));
  if (!fd) return fail_errno("reopening " + dest);
  return fd;
}

Result<void> do_bind(int root, const std::string& source, const std::string& target, const MountOptions& o,
                     const std::string& dest) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | (o.flags & MS_REC), nullptr) != 0)
    return fail_errno("bind-mounting " + source + " on " + dest);
  unsigned long extra = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (extra) {
    UniqueFd top = TRY(reopen(root, dest));
    TRY_CTX(remount_bind(fd_path(top.get()), extra, o.clear_flags), "mount " + dest);
  }
  return {};
}

Result<void> set_propagation(int root, const std::string& dest, unsigned long propagation) {
  if (!propagation) return {};
  UniqueFd top = TRY(reopen(root, dest));
  if (::mount(nullptr, fd_path(top.get()).c_str(), nullptr, propagation, nullptr) != 0)
    return fail_errno("setting propagation of " + dest);
  return {};
}

// The cgroup hierarchies under `dest`: a tmpfs with a directory (or cgroup2 mount) per
// hierarchy. With a cgroup namespace the kernel shows the container's cgroup as the root; without
// one the container's own directories are bound in.
Result<void> mount_cgroups(int root, const Mount& m, const MountOptions& o, const RootfsContext& ctx) {
  const CgroupLayout& layout = *ctx.layout;
  unsigned long flags = o.flags & ~(MS_BIND | MS_REC);
  UniqueFd target = TRY(make_in_root(root, m.destination, false));
  std::string tpath = fd_path(target.get());
  auto own_dir = [&](const CgroupHierarchy& h) -> std::string {
    if (!ctx.cgroup) return {};
    for (const auto& d : ctx.cgroup->dirs())
      if (d.starts_with(h.mount_point + "/")) return d;
    return {};
  };
  if (layout.mode == CgroupMode::v2) {
    if (ctx.cgroup_ns && ::mount("cgroup2", tpath.c_str(), "cgroup2", flags, nullptr) == 0) return {};
    std::string d = own_dir(layout.hierarchies[0]);
    if (d.empty()) return fail_errno("mounting cgroup2 on " + m.destination);
    MountOptions bind = o;
    bind.flags = MS_BIND | MS_REC | flags;
    return do_bind(root, d, tpath, bind, m.destination);
  }
  if (::mount("tmpfs", tpath.c_str(), "tmpfs", flags & ~MS_RDONLY, "mode=755") != 0)
    return fail_errno("mounting tmpfs on " + m.destination);
  UniqueFd dir = TRY(reopen(root, m.destination));
  for (const auto& h : layout.hierarchies) {
    std::string base = std::filesystem::path(h.mount_point).filename().string();
    if (::mkdirat(dir.get(), base.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("creating cgroup dir " + base);
    std::string sub_dest = m.destination + "/" + base;
    UniqueFd subfd = TRY(reopen(root, sub_dest));
    std::string spath = fd_path(subfd.get());
    int rc = -1;
    if (ctx.cgroup_ns) {
      std::string opts;
      for (const auto& c : h.controllers) opts += (opts.empty() ? "" : ",") + c;
      if (!h.v2 && opts.starts_with("name=")) opts = "none," + opts;
      rc = h.v2 ? ::mount("cgroup2", spath.c_str(), "cgroup2", flags, nullptr)
                : ::mount("cgroup", spath.c_str(), "cgroup", flags, opts.c_str());
    }
    if (rc != 0) {
      std::string d = own_dir(h);
      if (d.empty()) return fail_errno("mounting cgroup " + base);
      MountOptions bind;
      bind.flags = MS_BIND | flags;
      TRY(do_bind(root, d, spath, bind, sub_dest));
    }
    // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
    if (base.find(',') != std::string::npos)
      for (const auto& c : h.controllers) (void)::symlinkat(base.c_str(), dir.get(), c.c_str());
  }
  if (flags & MS_RDONLY) {
    UniqueFd top = TRY(reopen(root, m.destination));
    TRY_CTX(remount_bind(fd_path(top.get()), MS_RDONLY, 0), "mount " + m.destination);
  }
  return {};
}

Result<void> mount_one(int root, const Mount& m, const RootfsContext& ctx) {
  MountOptions o = TRY_CTX(parse_mount_options(m.options), "mount " + m.destination);
  if (m.type == "cgroup" || m.type == "cgroup2") return mount_cgroups(root, m, o, ctx);
  bool bind = o.is_bind() || m.type == "bind";
  std::string source = m.source;
  if (bind) {
    if (source.empty()) return fail(Errc::invalid_input, "mount " + m.destination + ": a bind mount needs a source");
    if (source[0] != '/') source = ctx.bundle + "/" + source;
    struct stat st;
    if (::stat(source.c_str(), &st) != 0) return fail_errno("mount " + m.destination + ": source " + source);
    UniqueFd target = TRY(make_in_root(root, m.destination, !S_ISDIR(st.st_mode)));
    o.flags |= MS_BIND;
    TRY(do_bind(root, source, fd_path(target.get()), o, m.destination));
    return set_propagation(root, m.destination, o.propagation);
  }
  UniqueFd target = TRY(make_in_root(root, m.destination, false));
  std::string tpath = fd_path(target.get());
  unsigned long flags = o.flags & ~MS_REMOUNT;
  if (::mount(source.c_str(), tpath.c_str(), m.type.c_str(), flags, o.data.empty() ? nullptr : o.data.c_str()) != 0) {
    int e = errno;
    // Without its own network (sysfs) or IPC (mqueue) namespace the kernel refuses a fresh
    // instance to a user namespace: give the host's, read-only as runc does.
    if (e == EPERM && (m.type == "sysfs" || m.type == "mqueue")) {
      MountOptions b = o;
      b.flags = MS_BIND | MS_REC | MS_RDONLY | (o.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
      return do_bind(root, m.type == "sysfs" ? "/sys" : "/dev/mqueue", tpath, b, m.destination);
    }
    return fail_errno("mounting " + m.type + " on " + m.destination, e);
  }
  return set_propagation(root, m.destination, o.propagation);
}

struct DefaultDevice {
  const char* name;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {{"null", 1, 3}, {"zero", 1, 5},    {"full", 1, 7},
                                             {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

Result<void> make_device(int root, const std::string& path, mode_t type, unsigned major, unsigned minor, mode_t perm,
                         uid_t uid, gid_t gid, bool bind_from_host) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  std::string name = std::filesystem::path(path).filename().string();
  UniqueFd dir = TRY(make_in_root(root, parent, false));
  ::unlinkat(dir.get(), name.c_str(), 0);
  if (bind_from_host) {
    UniqueFd f(::openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f) return fail_errno("creating " + path);
    UniqueFd target = TRY(make_in_root(root, path, true));
    if (::mount(path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
      return fail_errno("binding device " + path);
    return {};
  }
  if (::mknodat(dir.get(), name.c_str(), type | perm, makedev(major, minor)) != 0) return fail_errno("mknod " + path);
  // mknod's mode goes through the umask; devices must have the spec's.
  UniqueFd f(open_in_root(root, path, O_PATH | O_NOFOLLOW));
  if (f) {
    ::fchmodat(AT_FDCWD, fd_path(f.get()).c_str(), perm, 0);
    ::fchownat(AT_FDCWD, fd_path(f.get()).c_str(), uid, gid, 0);
  }
  return {};
}

bool has_mount_at(const Spec& spec, const std::string& dest) {
  for (const auto& m : spec.mounts)
    if (std::filesystem::path(m.destination).lexically_normal() == std::filesystem::path(dest)) return true;
  return false;
}

Result<void> setup_dev(int root, const Spec& spec, const RootfsContext& ctx) {
  // A /dev bound from the host already has everything.
  for (const auto& m : spec.mounts)
    if (m.destination == "/dev" && (m.type == "bind" || TRY(parse_mount_options(m.options)).is_bind())) return {};
  for (const auto& d : kDefaultDevices)
    TRY(make_device(root, std::string("/dev/") + d.name, S_IFCHR, d.major, d.minor, 0666, 0, 0, ctx.user_ns));
  for (const auto& d : spec.linux.devices) {
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    TRY(make_device(root, d.path, type, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor),
                    d.file_mode.value_or(0666) & 07777, d.uid.value_or(0), d.gid.value_or(0),
                    ctx.user_ns && type != S_IFIFO));
  }
  UniqueFd dev = TRY(make_in_root(root, "/dev", false));
  const std::pair<const char*, const char*> links[] = {
      {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  for (const auto& [target, name] : links)
    if (::symlinkat(target, dev.get(), name) != 0 && errno != EEXIST) return fail_errno(std::string("linking /dev/") + name);
  if (::faccessat(AT_FDCWD, "/proc/kcore", F_OK, 0) == 0) (void)::symlinkat("/proc/kcore", dev.get(), "core");
  if (has_mount_at(spec, "/dev/pts")) {
    ::unlinkat(dev.get(), "ptmx", 0);
    if (::symlinkat("pts/ptmx", dev.get(), "ptmx") != 0) return fail_errno("linking /dev/ptmx");
  }
  return {};
}

}  // namespace

Result<void> prepare_rootfs(const Spec& spec, const RootfsContext& ctx) {
  // Nothing mounted in here may propagate back to the host.
  unsigned long prop = MS_SLAVE | MS_REC;
  if (!spec.linux.rootfs_propagation.empty()) prop = propagation_flags(spec.linux.rootfs_propagation);
  if (prop & MS_SHARED) prop = MS_SLAVE | MS_REC;  // made shared after pivot_root, below it
  if (::mount(nullptr, "/", nullptr, prop, nullptr) != 0) return fail_errno("setting the propagation of /");
  const std::string& rootfs = spec.root_path;
  // pivot_root needs the new root to be a mount point whose parent is not shared.
  if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return fail_errno("bind-mounting the rootfs " + rootfs);
  if (::mount(nullptr, rootfs.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) return fail_errno("making the rootfs private");
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("opening the rootfs " + rootfs);
  for (const auto& m : spec.mounts)
    if (m.type != "cgroup" && m.type != "cgroup2") TRY(mount_one(root.get(), m, ctx));
  TRY(setup_dev(root.get(), spec, ctx));
  return {};
}

Result<void> mount_cgroup_filesystems(const Spec& spec, const RootfsContext& ctx) {
  UniqueFd root(::open(spec.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("opening the rootfs " + spec.root_path);
  for (const auto& m : spec.mounts)
    if (m.type == "cgroup" || m.type == "cgroup2") TRY(mount_one(root.get(), m, ctx));
  return {};
}

Result<void> enter_rootfs(const Spec& spec, bool no_pivot) {
  const std::string& rootfs = spec.root_path;
  if (::chdir(rootfs.c_str()) != 0) return fail_errno("entering the rootfs " + rootfs);
  if (no_pivot) {
    if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0) return fail_errno("moving the rootfs to /");
    if (::chroot(".") != 0) return fail_errno("chroot");
    if (::chdir("/") != 0) return fail_errno("chdir /");
    return {};
  }
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root) return fail_errno("opening the old root");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail_errno("pivot_root into " + rootfs);
  // The old root now sits under the new one; detach it without letting the unmount propagate.
  if (::fchdir(old_root.get()) != 0) return fail_errno("fchdir to the old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) return fail_errno("making the old root a slave");
  if (::umount2(".", MNT_DETACH) != 0) return fail_errno("detaching the old root");
  if (::chdir("/") != 0) return fail_errno("chdir /");
  return {};
}

Result<void> finish_rootfs(const Spec& spec) {
  for (const auto& p : spec.linux.masked_paths) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;  // nothing there to hide
    int rc = S_ISDIR(st.st_mode) ? ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, "size=0")
                                 : ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
    if (rc != 0) return fail_errno("masking " + p);
  }
  for (const auto& p : spec.linux.readonly_paths) {
    if (::access(p.c_str(), F_OK) != 0) continue;
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return fail_errno("binding " + p + " read-only");
    TRY_CTX(remount_bind(p, MS_RDONLY, 0), "making " + p + " read-only");
  }
  if (spec.root_readonly) TRY_CTX(remount_bind("/", MS_RDONLY, 0), "making the root read-only");
  if (unsigned long prop = propagation_flags(spec.linux.rootfs_propagation); prop & MS_SHARED)
    if (::mount(nullptr, "/", nullptr, prop, nullptr) != 0) return fail_errno("making / shared");
  return {};
}

Result<void> bind_file(const std::string& source_path, const std::string& dest) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd target = TRY(make_in_root(root.get(), dest, true));
  if (::mount(source_path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
    return fail_errno("binding " + source_path + " on " + dest);
  return {};
}

}  // namespace tiffin::runtime
