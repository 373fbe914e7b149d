#include "engine/flist_mounts.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/mountinfo.hpp"
#include "common/subprocess.hpp"

namespace tiffin::engine {
namespace {

Result<UniqueFd> lock_mount(const std::string& mountpoint) { return lock_file(mountpoint + ".lock"); }

// The image mounts are plain FUSE mounts (no overlay of their own): unmount, or detach one
// whose process died (it answers ENOTCONN to everything).
void unmount(const std::string& mountpoint) {
  if (::umount2(mountpoint.c_str(), 0) != 0 && errno != EINVAL) ::umount2(mountpoint.c_str(), MNT_DETACH);
}

// Whether `mountpoint` is one of an overlay's lower directories (the last one, under a build
// step's directories; container_config.hpp's lower_dirs).
bool used_by_overlay(const std::string& mountpoint) {
  for (const auto& m : read_mountinfo().value_or(std::vector<MountInfo>{}))
    for (const auto& lower : overlay_lower_dirs(m))
      if (lower == mountpoint) return true;
  return false;
}

}  // namespace

bool flist_mounted(const std::string& path) { return fuse_mount_state(path) == MountState::live; }

Result<void> ensure_flist_mount(const FlistMountPaths& m) {
  std::error_code ec;
  std::filesystem::create_directories(m.mountpoint, ec);
  auto lock = TRY(lock_mount(m.mountpoint));
  switch (fuse_mount_state(m.mountpoint)) {
    case MountState::live: return {};
    case MountState::dead: unmount(m.mountpoint); break;  // overlays over it keep their reference
    case MountState::none: break;
  }
  std::vector<std::string> argv = {m.tiffin_binary, "--root", m.root, "flist", "mount", m.flist, m.mountpoint, "--daemon", "--cache",
      m.cache_dir, "--log-file", m.log_file};
  for (const auto& s : m.stores) argv.insert(argv.end(), {"--store", s});
  std::vector<std::string> env;
  if (!m.share_profile.empty() && !m.hub_token.empty()) {  // advisory: never a reason not to mount
    argv.insert(argv.end(), {"--share-profile", m.share_profile});
    env.push_back("TIFFIN_HUB_TOKEN=" + m.hub_token);
  }
  pid_t pid = TRY(spawn(
      argv,
      [] {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        return true;
      },
      env));
  if (int code = wait_exit(pid); code != 0)
    return fail(
        Errc::io, "mounting the image's flist on " + m.mountpoint + " failed (exit " + std::to_string(code) + ", see " + m.log_file + ")");
  return {};
}

void release_flist_mount(const std::string& mountpoint) {
  auto lock = lock_mount(mountpoint);
  if (!lock) return;
  if (fuse_mount_state(mountpoint) != MountState::none && !used_by_overlay(mountpoint)) unmount(mountpoint);
}

}  // namespace tiffin::engine
