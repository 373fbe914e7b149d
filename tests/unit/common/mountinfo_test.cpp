#include "common/mountinfo.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "test_support.hpp"

namespace tiffin {
namespace {

TEST(MountInfo, FieldsOptionalFieldsAndEscapes) {
  auto m = parse_mountinfo(
      "36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 shared:2 - overlay over\\040lay rw,lowerdir=/x\\040y/lower\n"
      "37 23 0:40 / /proc rw - proc proc rw\n"
      "garbage line\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].root, "/mnt1");
  EXPECT_EQ(m[0].mount_point, "/mnt/a b");
  EXPECT_EQ(m[0].options, "rw,noatime");
  EXPECT_EQ(m[0].fstype, "overlay");
  EXPECT_EQ(m[0].source, "over lay");
  EXPECT_EQ(m[0].super_options, "rw,lowerdir=/x\\040y/lower");
  EXPECT_EQ(mountinfo_unescape("/x\\040y/lower"), "/x y/lower");
  EXPECT_EQ(m[1].mount_point, "/proc");
}

TEST(MountInfo, OverlayLowerDirsTopFirstUnescaped) {
  auto m = parse_mountinfo(
      "36 35 0:50 / /c/rootfs rw - overlay overlay rw,lowerdir=/s/2:/s/1:/run/m\\040x,upperdir=/c/up,workdir=/c/w\n"
      "37 35 0:51 / /c2/rootfs rw - overlay overlay rw,lowerdir=/only\n"
      "38 23 0:40 / /proc rw - proc proc rw,lowerdir=/not-an-overlay\n");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(overlay_lower_dirs(m[0]), (std::vector<std::string>{"/s/2", "/s/1", "/run/m x"}));
  EXPECT_EQ(overlay_lower_dirs(m[1]), std::vector<std::string>{"/only"});
  EXPECT_TRUE(overlay_lower_dirs(m[2]).empty());
}

TEST(MountInfo, UnescapeKeepsWhatIsNotAnOctalEscape) {
  EXPECT_EQ(mountinfo_unescape("a\\134b\\011c"), "a\\b\tc");
  EXPECT_EQ(mountinfo_unescape("a\\x40b\\400c\\8"), "a\\x40b\\400c\\8");
  EXPECT_EQ(mountinfo_unescape("end\\04"), "end\\04");
}

// A FUSE server of an empty root directory: INIT, GETATTR, STATFS; every name is missing.
void serve_empty_root(int fd) {
  std::vector<char> buf(FUSE_MIN_READ_BUFFER + (1 << 20));
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < static_cast<ssize_t>(sizeof(fuse_in_header))) return;
    const auto* in = reinterpret_cast<const fuse_in_header*>(buf.data());
    struct {
      fuse_out_header h;
      union {
        fuse_init_out init;
        fuse_attr_out attr;
        fuse_statfs_out statfs;
      };
    } out;
    std::memset(&out, 0, sizeof out);
    out.h.unique = in->unique;
    out.h.len = sizeof out.h;
    if (in->opcode == FUSE_INIT) {
      out.init = {.major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION, .max_write = 4096};
      out.h.len += sizeof out.init;
    } else if (in->opcode == FUSE_GETATTR) {
      out.attr.attr = {.ino = 1, .mode = S_IFDIR | 0755, .nlink = 2};
      out.h.len += sizeof out.attr;
    } else if (in->opcode == FUSE_STATFS) {
      out.h.len += sizeof out.statfs;
    } else if (in->opcode == FUSE_LOOKUP) {
      out.h.error = -ENOENT;
    } else {
      out.h.error = -ENOSYS;
    }
    if (::write(fd, &out, out.h.len) < 0) return;
  }
}

// Mounts a FUSE filesystem served by `fd` on `dir` with mount(2) itself, as fusermount would.
bool mount_fuse(const std::string& dir, int fd) {
  std::string opts = "fd=" + std::to_string(fd) + ",rootmode=40000,user_id=0,group_id=0";
  return ::mount("tiffin-test", dir.c_str(), "fuse.tiffin-test", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
}

// Needs root and /dev/fuse; the mounts live in a private mount namespace of a child, so none
// outlives the test.
TEST(MountInfo, FuseMountStateTellsNoneLiveAndDead) {
  test::TempDir dir;
  EXPECT_EQ(fuse_mount_state(dir.path()), MountState::none) << "a plain directory";
  EXPECT_EQ(fuse_mount_state(dir / "missing"), MountState::none);
  EXPECT_EQ(fuse_mount_state("/proc"), MountState::none) << "a mount, not FUSE";

  for (const char* d : {"live", "dead", "tmpfs"}) ::mkdir((dir / d).c_str(), 0755);
  ::symlink((dir / "live").c_str(), (dir / "link").c_str());
  ::symlink("dead", (dir / "dead-link").c_str());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Each wrong answer sets a bit of the exit code; 77: cannot run here.
    int live_fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC), dead_fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (live_fd < 0 || dead_fd < 0 || ::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      ::_exit(77);
    if (!mount_fuse(dir / "live", live_fd) || !mount_fuse(dir / "dead", dead_fd) ||
        ::mount("tmpfs", (dir / "tmpfs").c_str(), "tmpfs", 0, nullptr) != 0)
      ::_exit(77);
    std::thread(serve_empty_root, live_fd).detach();
    ::close(dead_fd);  // the only server of "dead" is gone: its connection is aborted
    int wrong = 0;
    if (fuse_mount_state(dir / "live") != MountState::live) wrong |= 1;
    if (fuse_mount_state(dir / "live/") != MountState::live) wrong |= 2;
    if (fuse_mount_state(dir / "link") != MountState::live) wrong |= 4;
    if (fuse_mount_state(dir / "dead") != MountState::dead) wrong |= 8;
    if (fuse_mount_state(dir / "dead/") != MountState::dead) wrong |= 16;
    if (fuse_mount_state(dir / "dead-link") != MountState::dead) wrong |= 32;
    if (fuse_mount_state(dir / "tmpfs") != MountState::none) wrong |= 64;
    if (fuse_mount_state(dir / "live/x") != MountState::none) wrong |= 128;
    ::_exit(wrong);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "needs root, /dev/fuse and mount namespaces";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "wrong for (bits): 1 live, 2 live/, 4 link, 8 dead, 16 dead/, 32 dead-link, 64 tmpfs, 128 live/x";
}

}  // namespace
}  // namespace tiffin
