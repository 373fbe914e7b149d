#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "flist/check.hpp"
#include "flist/pack.hpp"
#include "flist/unpack.hpp"
#include "store/dir_store.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {

class Unpack : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string src = dir_ / "src";
    ::mkdir(src.c_str(), 0755);
    ::mkdir((src + "/etc").c_str(), 0555);  // read-only: unpack must still fill it
    test::write_text(src + "/etc/conf", "content");
    ::chmod((src + "/etc").c_str(), 0555);
    ::symlink("/etc/conf", (src + "/abs-link").c_str());
    ::link((src + "/etc/conf").c_str(), (src + "/hard").c_str());
    ASSERT_TRUE(pack(src, *store_, tree_, {1, false, nullptr}));
  }
  UnpackOptions opts() { return {1, false, false, &warnings_}; }
  test::TempDir dir_;
  std::shared_ptr<DirStore> store_ = *DirStore::open(dir_ / "store", true);
  Tree tree_;
  std::vector<std::string> warnings_;
};

}  // namespace

TEST_F(Unpack, RestoresContentModesLinksAndTimes) {
  auto r = unpack(tree_, *store_, dir_ / "out", opts());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(test::slurp(dir_ / "out/etc/conf"), "content");
  struct stat a, b;
  ASSERT_EQ(::lstat((dir_ / "out/etc").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 0555u);
  ASSERT_EQ(::lstat((dir_ / "out/hard").c_str(), &a), 0);
  ASSERT_EQ(::lstat((dir_ / "out/etc/conf").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard links are links again";
  EXPECT_EQ(b.st_mtime, tree_.nodes[*tree_.find("/etc/conf")].mtime);
  EXPECT_EQ(std::filesystem::read_symlink(dir_ / "out/abs-link"), "/etc/conf");
}

TEST_F(Unpack, PlantedSymlinkCannotRedirectWrites) {
  // The destination already holds etc -> <outside>: unpacking must not write through it.
  std::string outside = dir_ / "outside";
  ::mkdir(outside.c_str(), 0755);
  ::mkdir((dir_ / "out").c_str(), 0755);
  ::symlink(outside.c_str(), (dir_ / "out/etc").c_str());
  auto r = unpack(tree_, *store_, dir_ / "out", opts());
  ASSERT_FALSE(r);
  EXPECT_TRUE(std::filesystem::is_empty(outside));
}

TEST_F(Unpack, ExistingFilesAreNeverOverwritten) {
  ::mkdir((dir_ / "out").c_str(), 0755);
  test::write_text(dir_ / "out/hard", "mine");
  auto r = unpack(tree_, *store_, dir_ / "out", opts());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::conflict);
  EXPECT_EQ(test::slurp(dir_ / "out/hard"), "mine");
}

TEST_F(Unpack, MissingBlockNamesTheFile) {
  for (auto& e : std::filesystem::recursive_directory_iterator(dir_ / "store"))
    if (e.is_regular_file()) std::filesystem::remove(e.path());
  auto r = unpack(tree_, *store_, dir_ / "out", opts());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/etc/conf"), std::string::npos) << r.error().message;
}

TEST_F(Unpack, HostileNamesInATreeAreRefused) {
  Tree t;
  Node n;
  n.name = "..";
  n.mode = S_IFREG | 0644;
  t.put(Tree::kRoot, n);
  auto r = unpack(t, *store_, dir_ / "out2", opts());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid_input);
}

// A file whose blocks do not cover its size (rfs writes such files when an upload failed): rfs
// unpacks it empty, and so does tiffin, with a warning naming it; --strict refuses the flist.
TEST_F(Unpack, DamagedFilesAreUnpackedEmptyWithAWarningOrRefusedWhenStrict) {
  for (const char* p : {"/etc/conf", "/hard"}) tree_.nodes[*tree_.find(p)].blocks.clear();  // one file, two names
  UnpackOptions strict = opts();
  strict.strict = true;
  auto refused = unpack(tree_, *store_, dir_ / "strict", strict);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, Errc::invalid_input);
  EXPECT_NE(refused.error().message.find("damaged file /etc/conf: 7 bytes, 0 blocks"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "strict")) << "nothing is written";

  auto r = unpack(tree_, *store_, dir_ / "out", opts());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(test::slurp(dir_ / "out/etc/conf"), "");
  struct stat a, b;
  ASSERT_EQ(::lstat((dir_ / "out/etc/conf").c_str(), &a), 0);
  ASSERT_EQ(::lstat((dir_ / "out/hard").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, tree_.nodes[*tree_.find("/etc/conf")].mode & 07777);
  EXPECT_EQ(warnings_, std::vector<std::string>{"damaged file /etc/conf: 7 bytes, 0 blocks; unpacked empty"});
}

TEST_F(Unpack, CheckReportsDamagedFilesByTheirWholePaths) {
  tree_.nodes[*tree_.find("/etc/conf")].blocks.clear();
  tree_.nodes[*tree_.find("/hard")].blocks.clear();
  auto r = check(tree_, *store_, 1, false);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->damaged, 2u);
  EXPECT_EQ(r->problems, (std::vector<std::string>{"damaged file /etc/conf: 7 bytes, 0 blocks", "damaged file /hard: 7 bytes, 0 blocks"}));
}
