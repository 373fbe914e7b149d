// Copying trees as they are: contents, modes, links (hard and symbolic, never followed), fifos,
// times; an entry already in the target is an error, not overwritten.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/copy_tree.hpp"
#include "common/fd.hpp"
#include "test_support.hpp"

namespace tiffin {
namespace {

TEST(CopyTree, KeepsModesLinksAndTimesAndFollowsNothing) {
  test::TempDir dir;
  std::string from = dir / "from", to = dir / "to", outside = dir / "outside";
  for (const auto& d : {from, to, outside, from + "/sub"}) ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  std::ofstream(outside + "/secret") << "host";
  std::ofstream(from + "/sub/file") << "content";
  ASSERT_EQ(::chmod((from + "/sub/file").c_str(), 04710), 0);
  ASSERT_EQ(::chmod((from + "/sub").c_str(), 0701), 0);
  ASSERT_EQ(::chmod(from.c_str(), 0750), 0);
  ASSERT_EQ(::link((from + "/sub/file").c_str(), (from + "/hard").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/secret").c_str(), (from + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (from + "/dirlink").c_str()), 0);
  ASSERT_EQ(::mkfifo((from + "/pipe").c_str(), 0600), 0);
  ASSERT_EQ(::chmod((from + "/pipe").c_str(), 0620), 0);
  timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (from + "/sub/file").c_str(), old, 0), 0);

  UniqueFd f(::open(from.c_str(), O_RDONLY | O_DIRECTORY)), t(::open(to.c_str(), O_RDONLY | O_DIRECTORY));
  auto r = copy_tree(f.get(), t.get());
  ASSERT_TRUE(r) << r.error().message;

  struct stat st {
  }, hard{};
  ASSERT_EQ(::lstat((to + "/sub/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04710u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(test::slurp(to + "/sub/file"), "content");
  ASSERT_EQ(::lstat((to + "/hard").c_str(), &hard), 0);
  EXPECT_EQ(hard.st_ino, st.st_ino) << "a hard link stays one";
  ASSERT_EQ(::lstat((to + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0701u);
  ASSERT_EQ(::lstat(to.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u) << "the top takes the source's mode";
  ASSERT_EQ(::lstat((to + "/escape").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat((to + "/dirlink").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "a link to a directory is not descended";
  ASSERT_EQ(::lstat((to + "/pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  EXPECT_EQ(test::slurp(outside + "/secret"), "host");

  auto empty = directory_is_empty(to);
  ASSERT_TRUE(empty);
  EXPECT_FALSE(*empty);
  // Copying again onto what is there: refused, nothing overwritten.
  std::ofstream(from + "/sub/file", std::ios::trunc) << "changed";
  EXPECT_FALSE(copy_tree(f.get(), t.get()));
  EXPECT_EQ(test::slurp(to + "/sub/file"), "content");
  std::string bare = dir / "bare";
  ASSERT_EQ(::mkdir(bare.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((bare + "/lost+found").c_str(), 0700), 0);
  EXPECT_TRUE(directory_is_empty(bare).value_or(false)) << "a sized volume's lost+found does not count";
}

}  // namespace
}  // namespace tiffin
