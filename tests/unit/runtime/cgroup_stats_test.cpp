// Finding a process's cgroup from its /proc/<pid>/cgroup text (v1, v2, hybrid, a mount of a
// sub-tree), and reading stats from (mode, dirs) alone, over a directory tree of cgroup files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "runtime/cgroup_layout.hpp"
#include "runtime/cgroup_stats.hpp"
#include "test_support.hpp"

namespace tiffin::runtime {
namespace {

const char* kHybrid =
    "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "35 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n";

const char* kProcHybrid =
    "12:memory:/tiffin/c1\n"
    "4:cpu,cpuacct:/tiffin/c1\n"
    "1:name=systemd:/tiffin/c1\n"
    "0::/tiffin/c1\n";

TEST(CgroupDirsFromProc, Hybrid) {
  auto l = parse_cgroup_layout(kHybrid, "hugetlb");
  ASSERT_TRUE(l);
  EXPECT_EQ(cgroup_dirs_from_proc(*l, kProcHybrid),
      (std::vector<std::string>{"/sys/fs/cgroup/unified/tiffin/c1", "/sys/fs/cgroup/cpu,cpuacct/tiffin/c1",
          "/sys/fs/cgroup/memory/tiffin/c1", "/sys/fs/cgroup/systemd/tiffin/c1"}));
  // A hierarchy the text does not name is left out (a kernel without it, a partial read).
  EXPECT_EQ(cgroup_dirs_from_proc(*l, "0::/x\n").size(), 1u);
  EXPECT_TRUE(cgroup_dirs_from_proc(*l, "").empty());
}

TEST(CgroupDirsFromProc, PureV1AndPureV2) {
  auto v1 = parse_cgroup_layout(
      "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  ASSERT_TRUE(v1);
  // Only an exact controller list matches: "cpu" alone is not the cpu,cpuacct hierarchy.
  EXPECT_EQ(cgroup_dirs_from_proc(*v1, "5:cpu:/nope\n4:cpu,cpuacct:/a\n3:memory:/\n"),
      (std::vector<std::string>{"/sys/fs/cgroup/cpu,cpuacct/a", "/sys/fs/cgroup/memory"}));
  auto v2 = parse_cgroup_layout("31 23 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "cpu memory pids");
  ASSERT_TRUE(v2);
  EXPECT_EQ(cgroup_dirs_from_proc(*v2, "0::/system.slice/x.scope\n"), std::vector<std::string>{"/sys/fs/cgroup/system.slice/x.scope"});
}

TEST(CgroupDirsFromProc, AMountOfASubtreeShowsPathsBelowItsRoot) {
  // Inside a container without a cgroup namespace: the mount's root is the container's cgroup.
  auto l = parse_cgroup_layout("31 23 0:27 /tiffin/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "memory");
  ASSERT_TRUE(l);
  EXPECT_EQ(cgroup_dirs_from_proc(*l, "0::/tiffin/c1/sub\n"), std::vector<std::string>{"/sys/fs/cgroup/sub"});
  EXPECT_EQ(cgroup_dirs_from_proc(*l, "0::/tiffin/c1\n"), std::vector<std::string>{"/sys/fs/cgroup"});
  EXPECT_TRUE(cgroup_dirs_from_proc(*l, "0::/tiffin/c10\n").empty());  // not below the root
}

// A directory standing for one hierarchy's cgroup, holding `files`.
std::string cgroup_dir(const test::TempDir& tmp, const std::string& name, const std::map<std::string, std::string>& files) {
  std::string dir = tmp / name;
  ::mkdir(dir.c_str(), 0755);
  for (const auto& [file, text] : files) test::write_text(dir + "/" + file, text);
  return dir;
}

TEST(CgroupStats, ReadFromModeAndDirsAlone) {
  test::TempDir tmp;
  // v2: one directory, known by its cgroup.controllers.
  std::string v2 = cgroup_dir(tmp, "v2",
      {{"cgroup.controllers", "memory pids\n"}, {"memory.current", "3000\n"}, {"memory.stat", "anon 1000\nfile 1000\n"},
          {"memory.max", "max\n"}, {"cpu.stat", "usage_usec 5\nuser_usec 3\n"}, {"pids.current", "2\n"}});
  CgroupStats s = read_cgroup_stats(CgroupMode::v2, {v2});
  EXPECT_EQ(s.memory_usage, 2000u);
  EXPECT_EQ(s.memory_cache, 1000u);
  EXPECT_EQ(s.memory_limit, 0u);
  EXPECT_EQ(s.cpu_usage, 5000u);
  EXPECT_EQ(s.pids_current, 2u);
  // Hybrid: each figure from the v1 hierarchy that has it, whatever the order of the dirs.
  std::string mem = cgroup_dir(tmp, "memory",
      {{"memory.limit_in_bytes", "1048576\n"}, {"memory.usage_in_bytes", "500\n"}, {"memory.stat", "cache 7\ntotal_cache 100\n"}});
  std::string cpu = cgroup_dir(tmp, "cpuacct", {{"cpuacct.stat", "user 1\n"}, {"cpuacct.usage", "123456\n"}});
  std::string pids = cgroup_dir(tmp, "pids", {{"pids.max", "max\n"}, {"pids.current", "4\n"}});
  s = read_cgroup_stats(CgroupMode::hybrid, {v2, pids, cpu, mem});
  EXPECT_EQ(s.memory_usage, 400u);
  EXPECT_EQ(s.memory_limit, 1048576u);
  EXPECT_EQ(s.cpu_usage, 123456u);
  EXPECT_EQ(s.pids_current, 4u);
  // Nothing there: zeros, no error.
  s = read_cgroup_stats(CgroupMode::v1, {tmp / "gone"});
  EXPECT_EQ(s.memory_usage + s.cpu_usage + s.pids_current, 0u);
}

}  // namespace
}  // namespace tiffin::runtime
