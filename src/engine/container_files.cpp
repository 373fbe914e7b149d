// A container's files from outside it, as docker cp reaches them: stat, archive, extract. (Only
// tiffin-full links this: it needs libarchive.)
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/fd.hpp"
#include "common/mountinfo.hpp"
#include "common/text.hpp"
#include "engine/engine.hpp"
#include "flist/path_archive.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;

namespace {

// A root held open for the length of an operation. A running container's is its init's
// /proc/<pid>/root, taken only once a pidfd shows that pid is still the container's (its cgroup
// names the container) and still alive after the root was opened: a pid reused by another
// process never hands out that process's root.
// The name docker gives what a path of the container names ("" for its root).
std::string container_base_name(const std::string& path) {
  std::string p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.ends_with("/")) p.pop_back();
  std::string base = fs::path(p).filename().string();
  return base == "." ? "" : base;
}

struct HeldRoot {
  UniqueFd fd;
  std::string path;  // /proc/self/fd/<fd>, or the directory itself
};

Result<HeldRoot> hold(const std::string& root, const std::string& container_id) {
  if (!root.starts_with("/proc/")) return HeldRoot{{}, root};
  std::string pid = root.substr(6, root.find('/', 6) - 6);
  auto number = parse_int<pid_t>(pid);
  if (!number) return fail(Errc::internal, "no pid in " + root);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, *number, 0)));
  auto gone = [&] { return fail(Errc::conflict, "container " + short_id(container_id) + " is not running"); };
  if (!pidfd) return gone();
  auto cgroup = read_file("/proc/" + pid + "/cgroup", 1 << 16);
  if (!cgroup ||
      std::string_view(reinterpret_cast<const char*>(cgroup->data()), cgroup->size()).find(container_id) == std::string_view::npos)
    return gone();
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return gone();
  pollfd p{pidfd.get(), POLLIN, 0};
  if (::poll(&p, 1, 0) != 0) return gone();  // it exited: the root may be anyone's
  std::string path = "/proc/self/fd/" + std::to_string(fd.get());
  return HeldRoot{std::move(fd), std::move(path)};
}

}  // namespace

Result<Engine::FilesRoot> Engine::files_root(const std::string& ref, const std::string& path) {
  ContainerInfo c = TRY(inspect(ref));
  if (!path.starts_with("/")) return fail(Errc::invalid_input, "the path in the container must be absolute: " + path);
  std::string p = fs::path(path).lexically_normal().string();
  if (p.size() > 1 && p.ends_with("/")) p.pop_back();
  // Running: the container's own view, its volumes, tmpfs and /etc files included.
  if ((c.state.status == ContainerStatus::running || c.state.status == ContainerStatus::paused) && c.state.pid > 0 && c.shim_alive)
    return FilesRoot{"/proc/" + std::to_string(c.state.pid) + "/root", p, c};
  // Stopped: its rootfs, or the volume mounted over the path.
  std::string rootfs = TRY(mounted_rootfs(c));
  auto sources = TRY(volume_mounts(c.config));
  FilesRoot best{rootfs, p, c};
  size_t best_len = 0;
  for (size_t i = 0; i < c.config.volumes.size(); ++i) {
    std::string target = fs::path(TRY(parse_volume_spec(c.config.volumes[i])).target).lexically_normal().string();
    if (target.size() > 1 && target.ends_with("/")) target.pop_back();
    if ((p == target || p.starts_with(target + "/")) && target.size() > best_len) {
      best = {sources[i], p == target ? "/" : p.substr(target.size()), c};
      best_len = target.size();
    }
  }
  return best;
}

Result<PathStat> Engine::stat_path(const std::string& ref, const std::string& path) {
  FilesRoot at = TRY(files_root(ref, path));
  HeldRoot root = TRY(hold(at.root, at.container.id));
  auto s = stat_in_root(root.path, at.path);
  if (!s && s.error().sys_errno == ENOENT)
    return fail(Errc::not_found, "Could not find the file " + path + " in container " + at.container.name);
  if (s && !container_base_name(path).empty()) s->name = container_base_name(path);  // a volume's root is "data" in the container
  return s;
}

Result<void> Engine::archive_path(const std::string& ref, const std::string& path, const ByteSink& sink) {
  FilesRoot at = TRY(files_root(ref, path));
  HeldRoot root = TRY(hold(at.root, at.container.id));
  return archive_in_root(root.path, at.path, sink, container_base_name(path));
}

Result<void> Engine::extract_to(const std::string& ref, const std::string& dir, std::string_view tar, const ExtractOptions& opts) {
  FilesRoot at = TRY(files_root(ref, dir));
  HeldRoot root = TRY(hold(at.root, at.container.id));
  auto done = extract_in_root(root.path, at.path, tar, opts);
  if (!done && done.error().sys_errno == ENOENT && !stat_in_root(root.path, at.path))
    return fail(Errc::not_found, "Could not find the file " + dir + " in container " + at.container.name);
  return done;
}

}  // namespace tiffin::engine
