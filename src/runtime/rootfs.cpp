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

namespace tiffin::runtime {
namespace {

// openat2 with RESOLVE_IN_ROOT: ".." and absolute symlinks stop at `root`.
int open_in_root(int root, const std::string& rel, int flags) {
  struct open_how how {};
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

Result<void> make_device(int root, const DeviceStep& d) {
  std::string parent = std::filesystem::path(d.path).parent_path().string();
  std::string name = std::filesystem::path(d.path).filename().string();
  UniqueFd dir = TRY(make_in_root(root, parent, false));
  ::unlinkat(dir.get(), name.c_str(), 0);
  if (::mknodat(dir.get(), name.c_str(), d.type | d.mode, makedev(d.major, d.minor)) != 0) return fail_errno("mknod " + d.path);
  // mknod's mode goes through the umask; devices must have the spec's.
  UniqueFd f(open_in_root(root, d.path, O_PATH | O_NOFOLLOW));
  if (f) {
    ::fchmodat(AT_FDCWD, fd_path(f.get()).c_str(), d.mode, 0);
    ::fchownat(AT_FDCWD, fd_path(f.get()).c_str(), d.uid, d.gid, 0);
  }
  return {};
}

Result<void> bind_device(int root, const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  std::string name = std::filesystem::path(path).filename().string();
  UniqueFd dir = TRY(make_in_root(root, parent, false));
  ::unlinkat(dir.get(), name.c_str(), 0);
  UniqueFd f(::openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!f) return fail_errno("creating " + path);
  UniqueFd target = TRY(make_in_root(root, path, true));
  if (::mount(path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) return fail_errno("binding device " + path);
  return {};
}

Result<void> make_symlink(int root, const SymlinkStep& l) {
  if (!l.only_if_exists.empty() && ::faccessat(AT_FDCWD, l.only_if_exists.c_str(), F_OK, 0) != 0) return {};
  std::string parent = std::filesystem::path(l.path).parent_path().string();
  std::string name = std::filesystem::path(l.path).filename().string();
  auto dir = make_in_root(root, parent, false);
  if (!dir) return l.best_effort ? Result<void>() : std::unexpected(dir.error());
  if (l.replace) ::unlinkat(dir->get(), name.c_str(), 0);
  if (::symlinkat(l.target.c_str(), dir->get(), name.c_str()) != 0 && !(errno == EEXIST && !l.replace) && !l.best_effort)
    return fail_errno("linking " + l.path);
  return {};
}

Result<void> bind(int root, const BindStep& b) {
  struct stat st;
  if (::stat(b.source.c_str(), &st) != 0) return fail_errno("mount " + b.destination + ": source " + b.source);
  UniqueFd target = TRY(make_in_root(root, b.destination, !S_ISDIR(st.st_mode)));
  if (::mount(b.source.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND | (b.recursive ? MS_REC : 0), nullptr) != 0)
    return fail_errno("bind-mounting " + b.source + " on " + b.destination);
  return {};
}

Result<void> remount(int root, const RemountStep& r) {
  UniqueFd top = TRY(reopen(root, r.destination));
  TRY_CTX(remount_bind(fd_path(top.get()), r.flags, r.clear), "mount " + r.destination);
  return {};
}

Result<void> mount_fs(int root, const MountStep& m) {
  UniqueFd target = TRY(make_in_root(root, m.destination, false));
  std::string tpath = fd_path(target.get());
  if (::mount(m.source.c_str(), tpath.c_str(), m.type.c_str(), m.flags, m.data.empty() ? nullptr : m.data.c_str()) == 0) return {};
  int e = errno;
  if (m.fallback_source.empty() || (m.fallback_on != 0 && e != m.fallback_on))
    return fail_errno("mounting " + m.type + " on " + m.destination, e);
  if (::mount(m.fallback_source.c_str(), tpath.c_str(), nullptr, MS_BIND | (m.fallback_flags & MS_REC), nullptr) != 0)
    return fail_errno("bind-mounting " + m.fallback_source + " on " + m.destination);
  if (unsigned long extra = m.fallback_flags & ~(MS_BIND | MS_REC | MS_REMOUNT))
    return remount(root, RemountStep{m.destination, extra, m.fallback_clear});
  return {};
}

// Masked and read-only paths come after pivot_root, by plain path inside the container's root
// (where /proc's magic links are the container's own).
Result<void> mask(const std::string& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return {};  // nothing there to hide
  int rc = S_ISDIR(st.st_mode) ? ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, "size=0")
                               : ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
  if (rc != 0) return fail_errno("masking " + p);
  return {};
}

Result<void> make_readonly(const std::string& p) {
  if (::access(p.c_str(), F_OK) != 0) return {};
  if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return fail_errno("binding " + p + " read-only");
  TRY_CTX(remount_bind(p, MS_RDONLY, 0), "making " + p + " read-only");
  return {};
}

// Carries out one step; `root` is the rootfs (or "/" after pivot_root), opened on first use
// since the rootfs becomes a mount point of its own only at BindRootfsStep.
struct Apply {
  const std::string& root_path;
  UniqueFd root;

  Result<int> root_fd() {
    if (!root) root = UniqueFd(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("opening the rootfs " + root_path);
    return root.get();
  }

  Result<void> operator()(const RootPropagationStep& s) {
    if (::mount(nullptr, "/", nullptr, s.flags, nullptr) != 0) return fail_errno("setting the propagation of /");
    return {};
  }
  Result<void> operator()(const BindRootfsStep& s) {
    if (::mount(s.path.c_str(), s.path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      return fail_errno("bind-mounting the rootfs " + s.path);
    if (::mount(nullptr, s.path.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) return fail_errno("making the rootfs private");
    root.reset();  // an fd taken before points below the new mount
    return {};
  }
  Result<void> operator()(const MountStep& s) { return mount_fs(TRY(root_fd()), s); }
  Result<void> operator()(const BindStep& s) { return bind(TRY(root_fd()), s); }
  Result<void> operator()(const RemountStep& s) { return remount(TRY(root_fd()), s); }
  Result<void> operator()(const PropagationStep& s) {
    UniqueFd top = TRY(reopen(TRY(root_fd()), s.destination));
    if (::mount(nullptr, fd_path(top.get()).c_str(), nullptr, s.flags, nullptr) != 0)
      return fail_errno("setting propagation of " + s.destination);
    return {};
  }
  Result<void> operator()(const DeviceStep& s) { return make_device(TRY(root_fd()), s); }
  Result<void> operator()(const BindDeviceStep& s) { return bind_device(TRY(root_fd()), s.path); }
  Result<void> operator()(const SymlinkStep& s) { return make_symlink(TRY(root_fd()), s); }
  Result<void> operator()(const MaskStep& s) { return mask(s.path); }
  Result<void> operator()(const ReadonlyPathStep& s) { return make_readonly(s.path); }
};

}  // namespace

Result<void> apply_rootfs_steps(const std::vector<RootfsStep>& steps, const std::string& root) {
  Apply apply{root, {}};
  for (const auto& step : steps) TRY(std::visit(apply, step));
  return {};
}

Result<void> enter_rootfs(const std::string& rootfs, bool no_pivot) {
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

Result<void> bind_file(const std::string& source_path, const std::string& dest) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd target = TRY(make_in_root(root.get(), dest, true));
  if (::mount(source_path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
    return fail_errno("binding " + source_path + " on " + dest);
  return {};
}

}  // namespace tiffin::runtime
