// Hostile and broken .fl files give clear errors, never crashes or bogus trees.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "flist/flist_file.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {

class Validation : public ::testing::Test {
 protected:
  std::string copy_fixture() {
    std::string p = dir_ / ("x" + std::to_string(copies_++) + ".fl");
    std::filesystem::copy_file(std::string(TIFFIN_FIXTURES) + "/alpine-latest.fl", p);
    ::chmod(p.c_str(), 0644);
    return p;
  }
  void exec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }
  // Refused as bad input (exit code 2), with a message that names the file.
  void expect_rejected(const std::string& sql, const std::string& message_part) {
    std::string p = copy_fixture();
    exec(p, sql);
    auto r = load_flist(p);
    ASSERT_FALSE(r) << "accepted after: " << sql;
    EXPECT_EQ(r.error().kind, Errc::invalid_input) << r.error().message;
    EXPECT_EQ(r.error().message.rfind(p + ": ", 0), 0u) << r.error().message;
    EXPECT_NE(r.error().message.find(message_part), std::string::npos) << r.error().message;
  }
  Tree load_after(const std::string& sql) {
    std::string p = copy_fixture();
    exec(p, sql);
    auto r = load_flist(p);
    EXPECT_TRUE(r) << sql << ": " << r.error().message;
    return r ? std::move(*r) : Tree();
  }
  test::TempDir dir_;
  int copies_ = 0;
};

}  // namespace

TEST_F(Validation, RandomBytesAreNotAnFlist) {
  std::string p = dir_ / "r.fl";
  auto b = test::random_bytes(8192, 1);
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  auto r = load_flist(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid_input);
}

TEST_F(Validation, TruncatedFileIsAnError) {
  std::string p = copy_fixture();
  std::filesystem::resize_file(p, 20000);
  EXPECT_FALSE(load_flist(p));
}

TEST_F(Validation, MissingFileAndEmptyDatabase) {
  EXPECT_FALSE(load_flist(dir_ / "none.fl"));
  std::string p = dir_ / "empty.fl";
  exec(p, "CREATE TABLE x (a)");
  auto r = load_flist(p);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("table 'inode' is missing"), std::string::npos);
}

TEST_F(Validation, Cycle) {
  // Two directories that are each other's parent, cut off from the root.
  expect_rejected(
      "UPDATE inode SET parent = (SELECT ino FROM inode WHERE name='lib' AND parent=1) WHERE name='bin' AND parent=1;"
      "UPDATE inode SET parent = (SELECT ino FROM inode WHERE name='bin') WHERE name='lib' AND parent=1;",
      "not reachable");
}

TEST_F(Validation, Orphan) { expect_rejected("UPDATE inode SET parent = 99999 WHERE name = 'bin'", "orphan"); }
TEST_F(Validation, NameWithSlash) { expect_rejected("UPDATE inode SET name = 'a/b' WHERE name = 'bin'", "invalid name"); }
TEST_F(Validation, DotDotName) { expect_rejected("UPDATE inode SET name = '..' WHERE name = 'bin'", "invalid name"); }
TEST_F(Validation, EmptyName) { expect_rejected("UPDATE inode SET name = '' WHERE name = 'bin'", "invalid name"); }
TEST_F(Validation, DuplicateNames) { expect_rejected("UPDATE inode SET name = 'bin' WHERE name = 'lib' AND parent = 1", "two entries"); }
TEST_F(Validation, AbsurdSize) { expect_rejected("UPDATE inode SET size = 9223372036854775807 WHERE name = 'arch'", "absurd size"); }
TEST_F(Validation, NegativeSize) { expect_rejected("UPDATE inode SET size = -5 WHERE name = 'arch'", "absurd size"); }
TEST_F(Validation, BlockRowOfNoInode) {
  expect_rejected("INSERT INTO block SELECT 99999, id, key FROM block LIMIT 1", "missing inode 99999");
}
TEST_F(Validation, SymlinkWithoutTargetNamesItsPath) {
  expect_rejected("DELETE FROM extra WHERE CAST(data AS TEXT) = '/bin/busybox'", "symlink /");
}
TEST_F(Validation, TextBlockId) { expect_rejected("UPDATE block SET id = 'abc' WHERE rowid = 1", "32-byte blob"); }
TEST_F(Validation, BadMode) { expect_rejected("UPDATE inode SET mode = 0 WHERE name = 'arch'", "invalid mode"); }
TEST_F(Validation, ParentIsAFile) {
  expect_rejected("UPDATE inode SET parent = (SELECT ino FROM inode WHERE name = 'arch') WHERE name = 'bin'", "not a directory");
}
TEST_F(Validation, NoRoot) { expect_rejected("DELETE FROM inode WHERE ino = 1", "root"); }
TEST_F(Validation, TextInIntegerColumn) { expect_rejected("UPDATE inode SET uid = 'zero' WHERE name = 'arch'", "non-integer"); }
TEST_F(Validation, BadRoute) { expect_rejected("INSERT INTO route VALUES (200, 300, 'dir:///x')", "route"); }
TEST_F(Validation, BlocksOnADirectory) { expect_rejected("INSERT INTO block SELECT 1, id, key FROM block LIMIT 1", "not a regular file"); }

TEST_F(Validation, MalformedDatabaseNamesTheFile) {
  std::string p = copy_fixture();
  // Scribble over the pages after the schema: the header and sqlite_master stay readable, the
  // tables' b-trees do not.
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    std::string junk(16384, '\xa5');
    f.seekp(8192);
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto r = load_flist(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid_input);
  EXPECT_EQ(r.error().message, p + ": database disk image is malformed");
}

TEST_F(Validation, NamesAreEscapedInMessages) {
  std::string p = copy_fixture();
  exec(p, "UPDATE inode SET name = 'a' || char(0) || char(27) || '[31m' WHERE name = 'bin' AND parent = 1");
  auto r = load_flist(p);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("invalid name 'a\\x00\\x1b[31m'"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\0'), std::string::npos);
  expect_rejected(
      "UPDATE inode SET name = 'x' || char(10) || 'y' WHERE parent = 1 AND name IN ('bin', 'lib')", "two entries named 'x\\ny'");
}

// rfs writes flists in which a file of non-zero size has no block rows (an upload that failed);
// rfs opens them, and so does tiffin: the file is listed as it is and marked damaged.
TEST_F(Validation, FileWithoutBlocksOpensAsDamaged) {
  Tree t = load_after("DELETE FROM block WHERE ino = (SELECT ino FROM inode WHERE name = 'world')");
  auto world = t.find("/etc/apk/world");
  ASSERT_TRUE(world);
  EXPECT_EQ(t.nodes[*world].size, 74u);
  EXPECT_TRUE(t.nodes[*world].blocks.empty());
  EXPECT_TRUE(t.nodes[*world].damaged());
  EXPECT_EQ(t.damaged_files(), std::vector<size_t>{*world});
  EXPECT_EQ(t.describe_damage(*world), "damaged file /etc/apk/world: 74 bytes, 0 blocks");
}

TEST_F(Validation, BlocksThatDoNotCoverTheSizeAreDamageNotMalformation) {
  Tree t = load_after("UPDATE inode SET size = 600000 WHERE name = 'arch'");
  auto arch = t.find("/etc/apk/arch");
  ASSERT_TRUE(arch);
  EXPECT_TRUE(t.nodes[*arch].damaged());
  EXPECT_EQ(t.damaged_files().size(), 1u);
}

TEST_F(Validation, ExtraRowsOfNoSymlinkAreIgnored) {
  Tree t = load_after(
      "INSERT INTO extra VALUES (99999, 'nothing'); INSERT INTO extra SELECT ino, 'x' FROM inode WHERE name = 'arch' AND mode & 61440 = "
      "32768");
  EXPECT_TRUE(t.nodes[*t.find("/etc/apk/arch")].link.empty());
}
