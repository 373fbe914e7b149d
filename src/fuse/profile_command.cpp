// tiffin flist profile: record what a command reads from a lazy mount.
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "fuse/lazy_fs.hpp"

namespace tiffin {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

int exit_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// Waits until `dir` is a FUSE mount, or the mounting child died, or the time is up.
Result<void> wait_mounted(const std::string& dir, pid_t mounter) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    struct statfs st;
    if (::statfs(dir.c_str(), &st) == 0 && st.f_type == kFuseSuperMagic) return {};
    int status;
    if (::waitpid(mounter, &status, WNOHANG) == mounter)
      return fail(Errc::io, "the mount process exited with status " + std::to_string(exit_status(status)));
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

  pid_t cmd = ::fork();
  if (cmd < 0) return fail_errno("fork");
  if (cmd == 0) {
    if (chroot) {
      if (::chroot(dir.c_str()) != 0 || ::chdir("/") != 0) {
        std::perror("tiffin: chroot into the mount");
        ::_exit(127);
      }
    } else {
      ::setenv("TIFFIN_MOUNT", dir.c_str(), 1);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::perror(("tiffin: exec " + argv[0]).c_str());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(cmd, &status, 0) < 0 && errno == EINTR) {
  }
  // A clean unmount ends the mount process, which then writes the profile.
  for (int i = 0; ::umount2(dir.c_str(), 0) != 0; ++i) {
    if (errno != EBUSY || i == 50) {
      ::umount2(dir.c_str(), MNT_DETACH);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int mount_status = 0;
  ::waitpid(mounter, &mount_status, 0);
  cleanup.reaped = true;
  if (exit_status(mount_status) != 0) return fail(Errc::io, "the mount process failed; no profile written");
  return exit_status(status);
}

}  // namespace tiffin
