#include "common/subprocess.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/fd.hpp"

namespace tiffin {
namespace {

TEST(Spawn, ExtraEnvironmentIsAddedAndReplacesTheParentsValue) {
  ::setenv("TIFFIN_SPAWN_TEST_KEPT", "parent", 1);
  ::setenv("TIFFIN_SPAWN_TEST_REPLACED", "parent", 1);
  char path[] = "/tmp/tiffin-spawn-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  pid_t pid = *spawn({"sh", "-c", "env > \"$0\"", path}, {}, {"TIFFIN_SPAWN_TEST_REPLACED=child", "TIFFIN_SPAWN_TEST_NEW=a=b"});
  ASSERT_EQ(wait_exit(pid), 0);
  auto out = read_file(path);
  ::unlink(path);
  ASSERT_TRUE(out);
  std::string env(out->begin(), out->end());
  EXPECT_NE(env.find("TIFFIN_SPAWN_TEST_KEPT=parent\n"), std::string::npos) << env;
  EXPECT_NE(env.find("TIFFIN_SPAWN_TEST_REPLACED=child\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("TIFFIN_SPAWN_TEST_REPLACED=parent"), std::string::npos) << env;
  EXPECT_NE(env.find("TIFFIN_SPAWN_TEST_NEW=a=b\n"), std::string::npos) << env;
  ::unsetenv("TIFFIN_SPAWN_TEST_KEPT");
  ::unsetenv("TIFFIN_SPAWN_TEST_REPLACED");
}

TEST(Spawn, WithoutExtraEnvironmentTheChildHasTheParents) {
  ::setenv("TIFFIN_SPAWN_TEST_PLAIN", "yes", 1);
  auto got = run_captured({"sh", "-c", "echo \"$TIFFIN_SPAWN_TEST_PLAIN\""});
  ::unsetenv("TIFFIN_SPAWN_TEST_PLAIN");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->out, "yes\n");
}

TEST(Spawn, EnvironWithReplacesOnlyWholeNames) {
  ::setenv("TIFFIN_ENVIRON_WITH", "old", 1);
  ::setenv("TIFFIN_ENVIRON_WITH_LONGER", "kept", 1);
  auto env = environ_with({"TIFFIN_ENVIRON_WITH=new", "NO_EQUALS_SIGN"});
  ::unsetenv("TIFFIN_ENVIRON_WITH");
  ::unsetenv("TIFFIN_ENVIRON_WITH_LONGER");
  auto has = [&](const std::string& e) { return std::ranges::count(env, e); };
  EXPECT_EQ(has("TIFFIN_ENVIRON_WITH=new"), 1);
  EXPECT_EQ(has("TIFFIN_ENVIRON_WITH=old"), 0);
  EXPECT_EQ(has("TIFFIN_ENVIRON_WITH_LONGER=kept"), 1);  // a name is not a prefix of another
  EXPECT_GT(env.size(), 3u);                             // an entry without '=' wipes nothing
}

TEST(Spawn, MalformedExtraEnvironmentIsRefused) {
  for (const char* bad : {"NOEQUALS", "=value"}) {
    auto r = spawn({"true"}, {}, {bad});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, Errc::invalid_input);
  }
}

}  // namespace
}  // namespace tiffin
