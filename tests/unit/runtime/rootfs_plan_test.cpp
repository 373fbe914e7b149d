// The rootfs plan, decided from the Spec without root: the default spec's steps in order, binds
// and their remounts, devices in a user namespace, propagation of a shared root, a /dev bound
// from the host, cgroup mounts with and without a cgroup namespace.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "runtime/rootfs_plan.hpp"
#include "runtime/secure_defaults.hpp"

namespace tiffin::runtime {
namespace {

using Lines = std::vector<std::string>;

const char* kHybrid =
    "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "35 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n";

struct Fixture {
  CgroupLayout layout;
  RootfsContext ctx;
  Spec spec;

  explicit Fixture(const char* mountinfo = kHybrid, const char* v2_controllers = "hugetlb") {
    layout = parse_cgroup_layout(mountinfo, v2_controllers).value();
    for (const auto& h : layout.hierarchies) ctx.cgroup_dirs.push_back(h.mount_point + "/box/c1");
    ctx.bundle = "/bundle";
    ctx.layout = &layout;
    ctx.cgroup_ns = true;
    spec = default_spec();
    spec.root_path = "/bundle/rootfs";
  }
  RootfsPlan plan() {
    auto p = plan_rootfs(spec, ctx);
    EXPECT_TRUE(p) << p.error().what();
    return p.value_or(RootfsPlan{});
  }
};

bool contains(const Lines& lines, const std::string& line) { return std::find(lines.begin(), lines.end(), line) != lines.end(); }

TEST(RootfsPlan, TheDefaultSpec) {
  Fixture f;
  RootfsPlan p = f.plan();
  EXPECT_EQ(describe(p.mounts),
      (Lines{"propagation / slave,rec", "bind rootfs /bundle/rootfs", "mount proc proc on /proc -",
          "mount tmpfs tmpfs on /dev nosuid,strictatime mode=755,size=65536k",
          "mount devpts devpts on /dev/pts nosuid,noexec newinstance,ptmxmode=0666,mode=0620,gid=5",
          "mount tmpfs shm on /dev/shm nosuid,nodev,noexec mode=1777,size=65536k",
          "mount mqueue mqueue on /dev/mqueue nosuid,nodev,noexec else bind /dev/mqueue ro,nosuid,nodev,noexec,bind,rec on errno 1",
          "mount sysfs sysfs on /sys ro,nosuid,nodev,noexec else bind /sys ro,nosuid,nodev,noexec,bind,rec on errno 1",
          "mknod /dev/null c 1:3 0666 0:0", "mknod /dev/zero c 1:5 0666 0:0", "mknod /dev/full c 1:7 0666 0:0",
          "mknod /dev/random c 1:8 0666 0:0", "mknod /dev/urandom c 1:9 0666 0:0", "mknod /dev/tty c 5:0 0666 0:0",
          "symlink /dev/fd -> /proc/self/fd", "symlink /dev/stdin -> /proc/self/fd/0", "symlink /dev/stdout -> /proc/self/fd/1",
          "symlink /dev/stderr -> /proc/self/fd/2", "symlink /dev/core -> /proc/kcore best-effort if /proc/kcore exists",
          "symlink /dev/ptmx -> pts/ptmx replace"}));
  // Hybrid with a cgroup namespace: a tmpfs with a fresh mount per hierarchy, each falling back
  // to binding the container's own directory, then the whole made read-only.
  EXPECT_EQ(describe(p.cgroups),
      (Lines{"mount tmpfs tmpfs on /sys/fs/cgroup nosuid,nodev,noexec,relatime mode=755",
          "mount cgroup2 cgroup2 on /sys/fs/cgroup/unified ro,nosuid,nodev,noexec,relatime else bind "
          "/sys/fs/cgroup/unified/box/c1 ro,nosuid,nodev,noexec,relatime,bind",
          "mount cgroup cgroup on /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime cpu,cpuacct else bind "
          "/sys/fs/cgroup/cpu,cpuacct/box/c1 ro,nosuid,nodev,noexec,relatime,bind",
          "symlink /sys/fs/cgroup/cpu -> cpu,cpuacct best-effort", "symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct best-effort",
          "mount cgroup cgroup on /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime memory else bind "
          "/sys/fs/cgroup/memory/box/c1 ro,nosuid,nodev,noexec,relatime,bind",
          "mount cgroup cgroup on /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec,relatime none,name=systemd else bind "
          "/sys/fs/cgroup/systemd/box/c1 ro,nosuid,nodev,noexec,relatime,bind",
          "remount /sys/fs/cgroup ro"}));
  Lines after;
  for (const auto& m : default_masked_paths()) after.push_back("mask " + m);
  for (const auto& r : default_readonly_paths()) after.push_back("readonly " + r);
  after.push_back("remount / ro");
  EXPECT_EQ(describe(p.after_pivot), after);
}

TEST(RootfsPlan, ABindWithRoIsABindAndARemount) {
  Fixture f;
  f.spec.mounts = {
      Mount{"/data", "bind", "data", {"rbind", "ro", "nosuid", "rslave"}}, Mount{"/etc/hosts", "", "/host/hosts", {"bind", "rw"}}};
  RootfsPlan p = f.plan();
  Lines steps = describe(p.mounts);
  EXPECT_EQ(Lines(steps.begin() + 2, steps.begin() + 6), (Lines{"bind /bundle/data on /data rec", "remount /data ro,nosuid",
                                                             "propagation /data slave,rec", "bind /host/hosts on /etc/hosts"}));
  // A remount is typed, not text: what apply() gets.
  EXPECT_EQ(std::get<RemountStep>(p.mounts[3]), (RemountStep{"/data", MS_RDONLY | MS_NOSUID, 0}));
  // "rw" alone needs no remount of its own.
  EXPECT_TRUE(std::holds_alternative<DeviceStep>(p.mounts[6]));
}

TEST(RootfsPlan, AUserNamespaceBindsDevicesInsteadOfMakingThem) {
  Fixture f;
  f.ctx.user_ns = true;
  f.spec.linux.devices = {Device{"/dev/fuse", "c", 10, 229, 0600, 0, 0}, Device{"/dev/pipe", "p", 0, 0, {}, {}, {}}};
  Lines steps = describe(f.plan().mounts);
  for (const char* d : {"null", "zero", "full", "random", "urandom", "tty", "fuse"})
    EXPECT_TRUE(contains(steps, std::string("bind device /dev/") + d)) << d;
  // A fifo is no device of the host's: it is made.
  EXPECT_TRUE(contains(steps, "mknod /dev/pipe p 0:0 0666 0:0"));
  EXPECT_EQ(std::count_if(steps.begin(), steps.end(), [](auto& s) { return s.starts_with("mknod"); }), 1);
  // Without one, the spec's mode and owner are kept.
  f.ctx.user_ns = false;
  f.spec.linux.devices[0].uid = 7;
  EXPECT_TRUE(contains(describe(f.plan().mounts), "mknod /dev/fuse c 10:229 0600 7:0"));
}

TEST(RootfsPlan, ASharedRootIsASlaveUntilAfterPivotRoot) {
  Fixture f;
  f.spec.linux.rootfs_propagation = "rshared";
  RootfsPlan p = f.plan();
  EXPECT_EQ(describe(p.mounts.front()), "propagation / slave,rec");
  EXPECT_EQ(describe(p.after_pivot.back()), "propagation / shared,rec");
  EXPECT_EQ(describe(p.after_pivot[p.after_pivot.size() - 2]), "remount / ro");
  f.spec.linux.rootfs_propagation = "private";
  p = f.plan();
  EXPECT_EQ(describe(p.mounts.front()), "propagation / private");
  EXPECT_EQ(describe(p.after_pivot.back()), "remount / ro");
}

// An unbindable "/" would refuse the bind of the rootfs from under it: set after pivot_root.
TEST(RootfsPlan, AnUnbindableRootIsASlaveUntilAfterPivotRoot) {
  Fixture f;
  for (const char* mode : {"unbindable", "runbindable"}) {
    f.spec.linux.rootfs_propagation = mode;
    RootfsPlan p = f.plan();
    EXPECT_EQ(describe(p.mounts.front()), "propagation / slave,rec");
    EXPECT_EQ(
        describe(p.after_pivot.back()), std::string(mode) == "unbindable" ? "propagation / unbindable" : "propagation / unbindable,rec");
  }
}

TEST(RootfsPlan, ADevBoundFromTheHostGetsNoDevices) {
  Fixture f;
  f.spec.mounts = {Mount{"/dev", "bind", "/dev", {"rbind"}}, Mount{"/dev/pts", "devpts", "devpts", {}}};
  Lines steps = describe(f.plan().mounts);
  EXPECT_EQ(steps,
      (Lines{"propagation / slave,rec", "bind rootfs /bundle/rootfs", "bind /dev on /dev rec", "mount devpts devpts on /dev/pts -"}));
}

TEST(RootfsPlan, CgroupsWithoutANamespaceAreTheContainersOwnDirectories) {
  Fixture f("31 23 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "cpu memory");
  f.ctx.cgroup_ns = false;
  EXPECT_EQ(describe(f.plan().cgroups),
      (Lines{"bind /sys/fs/cgroup/box/c1 on /sys/fs/cgroup rec", "remount /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime"}));
  f.ctx.cgroup_ns = true;
  EXPECT_EQ(describe(f.plan().cgroups),
      (Lines{"mount cgroup2 cgroup2 on /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime else bind /sys/fs/cgroup/box/c1 "
             "ro,nosuid,nodev,noexec,relatime,bind,rec"}));
  // Neither a namespace nor a directory: nothing sensible to mount.
  f.ctx.cgroup_ns = false;
  f.ctx.cgroup_dirs.clear();
  auto p = plan_rootfs(f.spec, f.ctx);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, Errc::invalid_input);
}

TEST(RootfsPlan, MountsThatMeanNothingAreRefused) {
  Fixture f;
  f.spec.mounts = {Mount{"/data", "bind", "", {"rbind"}}};
  auto p = plan_rootfs(f.spec, f.ctx);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, Errc::invalid_input);
  EXPECT_NE(p.error().what().find("/data"), std::string::npos);
  f.spec.mounts = {Mount{"/x", "tmpfs", "tmpfs", {""}}};
  EXPECT_FALSE(plan_rootfs(f.spec, f.ctx));
}

}  // namespace
}  // namespace tiffin::runtime
