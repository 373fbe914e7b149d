// A container's files from outside it, as docker cp reaches them: stat, archive, extract. (Only
// tiffin-full links this: it needs libarchive.)
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/fd.hpp"
#include "common/mountinfo.hpp"
#include "engine/engine.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;

Result<Engine::FilesRoot> Engine::files_root(const std::string& ref, const std::string& path) {
  ContainerInfo c = TRY(inspect(ref));
  if (!path.starts_with("/")) return fail(Errc::invalid_input, "the path in the container must be absolute: " + path);
  std::string p = fs::path(path).lexically_normal().string();
  if (p.size() > 1 && p.ends_with("/")) p.pop_back();
  // Running: the container's own view, its volumes, tmpfs and /etc files included.
  if ((c.state.status == ContainerStatus::running || c.state.status == ContainerStatus::paused) && c.state.pid > 0 && c.shim_alive)
    return FilesRoot{"/proc/" + std::to_string(c.state.pid) + "/root", p, c};
  // Stopped: its rootfs, or the volume mounted over the path.
  std::string rootfs = container_dir(c.id) + "/rootfs";
  if (!mounted_over(rootfs)) {
    auto image = TRY(find_image(c.image_id));
    if (!image) return fail(Errc::not_found, "the image of container " + c.name + " is gone");
    TRY(prepare_rootfs(c.id, c.config, *image));
  }
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
  auto s = stat_in_root(at.root, at.path);
  if (!s && s.error().sys_errno == ENOENT)
    return fail(Errc::not_found, "Could not find the file " + path + " in container " + at.container.name);
  return s;
}

Result<void> Engine::archive_path(const std::string& ref, const std::string& path, const ByteSink& sink) {
  FilesRoot at = TRY(files_root(ref, path));
  return archive_in_root(at.root, at.path, sink);
}

Result<void> Engine::extract_to(const std::string& ref, const std::string& dir, std::string_view tar, const ExtractOptions& opts) {
  FilesRoot at = TRY(files_root(ref, dir));
  auto done = extract_in_root(at.root, at.path, tar, opts);
  if (!done && done.error().sys_errno == ENOENT && !stat_in_root(at.root, at.path))
    return fail(Errc::not_found, "Could not find the file " + dir + " in container " + at.container.name);
  return done;
}

}  // namespace tiffin::engine
