// A cgroup's directories are planned (and saved) before they are made, so a create killed at
// any point can be cleaned up: plan makes nothing, make makes them, destroy removes what exists
// and is no error for what never did. A plain directory tree stands in for a hierarchy (mkdir and
// rmdir behave the same there), so this runs without root.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/cgroup.hpp"
#include "test_support.hpp"

namespace tiffin::runtime {
namespace {

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

CgroupLayout fake_layout(const std::string& root) {
  CgroupLayout l;
  l.mode = CgroupMode::v1;
  for (const char* c : {"memory", "pids"}) {
    ::mkdir((root + "/" + c).c_str(), 0755);
    l.hierarchies.push_back(CgroupHierarchy{root + "/" + c, "/", {c}, false});
  }
  return l;
}

TEST(CgroupLifecycle, PlanMakesNothingAndNamesEveryDirectory) {
  test::TempDir tmp;
  CgroupLayout layout = fake_layout(tmp.path());
  ::mkdir((tmp / "pids/box").c_str(), 0755);  // one parent exists in one hierarchy
  auto cg = Cgroup::plan(layout, "/box/inner/c1");
  ASSERT_TRUE(cg) << cg.error().what();
  EXPECT_EQ(cg->dirs(), (std::vector<std::string>{tmp / "memory/box/inner/c1", tmp / "pids/box/inner/c1"}));
  // Parents to be made, deepest first; pids/box was there already.
  EXPECT_EQ(cg->created(), (std::vector<std::string>{tmp / "memory/box/inner", tmp / "memory/box", tmp / "pids/box/inner"}));
  EXPECT_FALSE(exists(tmp / "memory/box"));
  EXPECT_FALSE(Cgroup::plan(layout, "/"));  // the root cgroup is no container's
}

TEST(CgroupLifecycle, DestroyBeforeMakeIsNoError) {
  test::TempDir tmp;
  CgroupLayout layout = fake_layout(tmp.path());
  auto cg = Cgroup::plan(layout, "/box/c1");
  ASSERT_TRUE(cg);
  // What delete does with the state a create killed before make() left: reopen and destroy.
  Cgroup saved = Cgroup::open(cg->mode(), cg->dirs(), cg->created());
  EXPECT_TRUE(saved.destroy());
  EXPECT_TRUE(saved.pids().value_or(std::vector<pid_t>{1}).empty());
}

TEST(CgroupLifecycle, MakeThenDestroyLeavesWhatWasThereBefore) {
  test::TempDir tmp;
  CgroupLayout layout = fake_layout(tmp.path());
  ::mkdir((tmp / "pids/box").c_str(), 0755);
  auto cg = Cgroup::plan(layout, "/box/c1");
  ASSERT_TRUE(cg);
  ASSERT_TRUE(cg->make(layout));
  for (const auto& d : cg->dirs()) EXPECT_TRUE(exists(d)) << d;
  EXPECT_TRUE(cg->make(layout));  // again: what exists is fine
  // Half made (killed in the middle of make): destroy removes what is there.
  ASSERT_EQ(::rmdir(cg->dirs()[1].c_str()), 0);
  ASSERT_TRUE(Cgroup::open(cg->mode(), cg->dirs(), cg->created()).destroy());
  EXPECT_FALSE(exists(tmp / "memory/box"));
  EXPECT_TRUE(exists(tmp / "pids/box"));  // not ours
  EXPECT_FALSE(exists(tmp / "pids/box/c1"));
}

}  // namespace
}  // namespace tiffin::runtime
