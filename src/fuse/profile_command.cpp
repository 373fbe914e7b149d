// tiffin flist profile: record what a command reads from a lazy mount.
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/subprocess.hpp"
#include "fuse/lazy_fs.hpp"

namespace tiffin {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

// Waits until `dir` is a FUSE mount, or the mounting child died, or the time is up.
Result<void> wait_mounted(const std::string& dir, pid_t mounter) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    struct statfs st;
    if (::statfs(dir.c_str(), &st) == 0 && st.f_type == kFuseSuperMagic) return {};
    int status;
    if (::waitpid(mounter, &status, WNOHANG) == mounter)
      return fail(Errc::io, "the mount process exited with status " + std::to_string(exit_code(status)));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fail(Errc::unavailable, "the mount did not come up within 30s");
}

}  // namespace

Result<int> profile_command(MountOptions opts, const std::vector<std::string>& argv, bool chroot) {
  if (argv.empty()) return fail(Errc::invalid_input, "no command to profile");
  if (opts.record_profile.empty()) return fail(Errc::invalid_input, "no profile file to write");
  char tmpl[] = "/tmp/tiffin-profile-XXXXXX";
  if (!::mkdtemp(tmpl)) return fail_errno("mkdtemp");
  std::string dir = tmpl;
  opts.mountpoint = dir;
  opts.daemon = false;

  std::fflush(nullptr);
  pid_t mounter = ::fork();
  if (mounter < 0) return fail_errno("fork");
  if (mounter == 0) {
    auto r = mount_flist(opts);
    if (!r) std::fprintf(stderr, "tiffin: error: %s\n", r.error().what().c_str());
    std::fflush(nullptr);
    ::_exit(r ? 0 : 1);
  }
  // Whatever happens below, the mount goes, the mounter is reaped and the directory removed.
  struct Cleanup {
    std::string dir;
    pid_t mounter;
    bool reaped = false;
    ~Cleanup() {
      if (!reaped) {
        ::umount2(dir.c_str(), MNT_DETACH);
        ::kill(mounter, SIGTERM);
        ::waitpid(mounter, nullptr, 0);
      }
      ::rmdir(dir.c_str());
    }
  } cleanup{dir, mounter};
  TRY_CTX(wait_mounted(dir, mounter), "mounting " + opts.flist);

  pid_t cmd = TRY(spawn(argv, [&] {
    if (!chroot) return ::setenv("TIFFIN_MOUNT", dir.c_str(), 1) == 0;
    if (::chroot(dir.c_str()) == 0 && ::chdir("/") == 0) return true;
    std::perror("tiffin: chroot into the mount");
    return false;
  }));
  int status = wait_exit(cmd);
  // A clean unmount ends the mount process, which then writes the profile.
  for (int i = 0; ::umount2(dir.c_str(), 0) != 0; ++i) {
    if (errno != EBUSY || i == 50) {
      ::umount2(dir.c_str(), MNT_DETACH);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int mount_status = wait_exit(mounter);
  cleanup.reaped = true;
  if (mount_status != 0) return fail(Errc::io, "the mount process failed; no profile written");
  return status;
}

}  // namespace tiffin
