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
    std::string p = dir_ / "x.fl";
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
  void expect_rejected(const std::string& sql, const std::string& message_part) {
    std::string p = copy_fixture();
    exec(p, sql);
    auto r = load_flist(p);
    ASSERT_FALSE(r) << "accepted after: " << sql;
    EXPECT_NE(r.error().message.find(message_part), std::string::npos) << r.error().message;
  }
  test::TempDir dir_;
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
TEST_F(Validation, BlocksDoNotCoverSize) { expect_rejected("UPDATE inode SET size = 600000 WHERE name = 'arch'", "blocks"); }
TEST_F(Validation, TextBlockId) { expect_rejected("UPDATE block SET id = 'abc' WHERE rowid = 1", "32-byte blob"); }
TEST_F(Validation, BadMode) { expect_rejected("UPDATE inode SET mode = 0 WHERE name = 'arch'", "invalid mode"); }
TEST_F(Validation, ParentIsAFile) {
  expect_rejected("UPDATE inode SET parent = (SELECT ino FROM inode WHERE name = 'arch') WHERE name = 'bin'", "not a directory");
}
TEST_F(Validation, NoRoot) { expect_rejected("DELETE FROM inode WHERE ino = 1", "root"); }
TEST_F(Validation, TextInIntegerColumn) { expect_rejected("UPDATE inode SET uid = 'zero' WHERE name = 'arch'", "non-integer"); }
TEST_F(Validation, BadRoute) { expect_rejected("INSERT INTO route VALUES (200, 300, 'dir:///x')", "route"); }
TEST_F(Validation, BlocksOnADirectory) { expect_rejected("INSERT INTO block SELECT 1, id, key FROM block LIMIT 1", "not a regular file"); }
