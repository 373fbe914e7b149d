// Deleting trees: everything below goes, nothing a symlink points at does.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/remove_tree.hpp"
#include "test_support.hpp"

namespace tiffin {
namespace {

TEST(RemoveTree, RemovesEverythingBelowAndNothingOutside) {
  test::TempDir dir;
  std::string outside = dir / "outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  std::ofstream(outside + "/keep") << "precious";
  std::string tree = dir / "tree";
  ASSERT_EQ(::mkdir(tree.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tree + "/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tree + "/a/b").c_str(), 0755), 0);
  std::ofstream(tree + "/a/file") << "x";
  ASSERT_EQ(::symlink(outside.c_str(), (tree + "/a/link").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/keep").c_str(), (tree + "/filelink").c_str()), 0);
  auto r = remove_tree(tree);
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  EXPECT_NE(::lstat(tree.c_str(), &st), 0);
  EXPECT_EQ(::stat((outside + "/keep").c_str(), &st), 0) << "symlinks are removed, not followed";
  EXPECT_TRUE(remove_tree(tree)) << "what is not there is not an error";
  EXPECT_TRUE(remove_tree(outside + "/keep")) << "a plain file";
  EXPECT_NE(::stat((outside + "/keep").c_str(), &st), 0);
}

}  // namespace
}  // namespace tiffin
