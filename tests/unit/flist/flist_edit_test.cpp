// Edits of an existing flist change only what was asked: every other row of every table, the
// schema and the inode numbers stay as rfs wrote them.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"
#include "flist/signature.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {

using Rows = std::vector<std::string>;     // one string per row: its rowid and columns, typed
using Dump = std::map<std::string, Rows>;  // table (and "sqlite_master") → rows

// Every row of every table, each value with its type, blobs in hex: two dumps are equal only if
// the databases hold the same rows under the same rowids.
Dump dump(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  auto rows = [&](const std::string& sql) {
    Rows out;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        int type = sqlite3_column_type(st, c);
        auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st, c));
        std::string value = type == SQLITE_BLOB   ? to_hex(std::span<const uint8_t>(p, static_cast<size_t>(sqlite3_column_bytes(st, c))))
                            : type == SQLITE_NULL ? "NULL"
                                                  : reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        row += std::to_string(type) + ":" + value + "|";
      }
      out.push_back(row);
    }
    sqlite3_finalize(st);
    return out;
  };
  Dump d;
  d["sqlite_master"] = rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name");
  for (const std::string& row : d["sqlite_master"]) {
    if (!row.starts_with("3:table|")) continue;
    std::string name = row.substr(8, row.find('|', 8) - 8);
    name = name.substr(name.find(':') + 1);
    d[name] = rows("SELECT rowid, * FROM \"" + name + "\" ORDER BY rowid");
  }
  sqlite3_close(db);
  return d;
}

// The dumps, without `skip`: what an edit of those tables must leave as it was.
Dump without(Dump d, std::initializer_list<const char*> skip) {
  for (const char* t : skip) d.erase(t);
  return d;
}

class FlistEdit : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::copy_file(std::string(TIFFIN_FIXTURES) + "/alpine-latest.fl", path_);
    ::chmod(path_.c_str(), 0644);
    original_ = dump(path_);
    digest_ = flist_digest(*load_flist(path_));
  }
  test::TempDir dir_;
  std::string path_ = dir_ / "x.fl";
  Dump original_;
  Hash digest_;
};

}  // namespace

TEST_F(FlistEdit, TagsChangeOnlyTheTagRowsAndTheDigestComesBack) {
  ASSERT_GT(original_["inode"].size(), 500u);
  ASSERT_TRUE(original_["tag"].empty());
  ASSERT_TRUE(set_tags(path_, {{"version", "1.0"}, {"author", "me"}}));
  Dump after = dump(path_);
  EXPECT_EQ(without(after, {"tag"}), without(original_, {"tag"})) << "rows of other tables, or the schema, changed";
  EXPECT_EQ(after["tag"].size(), 2u);
  EXPECT_EQ(load_flist(path_)->tags, (std::map<std::string, std::string>{{"author", "me"}, {"version", "1.0"}}));

  ASSERT_TRUE(set_tags(path_, {{"version", "1.1"}}));
  EXPECT_EQ(load_flist(path_)->tags.at("version"), "1.1");

  auto missing = remove_tags(path_, {"author", "nope"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);
  EXPECT_EQ(load_flist(path_)->tags.size(), 2u) << "a failed edit changes nothing";

  ASSERT_TRUE(remove_tags(path_, {"author", "version"}));
  EXPECT_EQ(dump(path_), original_);
  EXPECT_EQ(flist_digest(*load_flist(path_)), digest_);
}

TEST_F(FlistEdit, RoutesChangeOnlyTheRouteRows) {
  ASSERT_TRUE(add_routes(path_, {{0, 0x7f, "http://hub/blocks"}, {0x80, 0xff, "zdb://h:9900/ns"}}, false));
  Dump after = dump(path_);
  EXPECT_EQ(without(after, {"route"}), without(original_, {"route"}));
  ASSERT_EQ(after["route"].size(), 3u);
  EXPECT_EQ(after["route"][0], original_["route"][0]) << "the existing route stays first, as it was";

  ASSERT_TRUE(remove_routes(path_, {"http://hub/blocks", "zdb://h:9900/ns"}));
  EXPECT_EQ(dump(path_), original_);
  EXPECT_EQ(remove_routes(path_, {"dir:///nowhere"}).error().kind, Errc::not_found);

  ASSERT_TRUE(add_routes(path_, {{0, 0xff, "http://hub/blocks"}}, true));
  auto routes = load_flist(path_)->routes;
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].url, "http://hub/blocks");
  EXPECT_EQ(without(dump(path_), {"route"}), without(original_, {"route"}));
}

TEST_F(FlistEdit, SigningAddsOnlyTheSignatureTable) {
  auto key = generate_key(dir_ / "key");
  ASSERT_TRUE(key);
  ASSERT_TRUE(add_signature(path_, *key));
  ASSERT_TRUE(add_signature(path_, *key)) << "signing again replaces the key's signature";
  Dump after = dump(path_);
  ASSERT_EQ(after["tiffin_signature"].size(), 1u);
  EXPECT_EQ(without(after, {"tiffin_signature", "sqlite_master"}), without(original_, {"sqlite_master"}));
  Rows master = after["sqlite_master"];
  std::erase_if(master, [](const std::string& r) { return r.find("tiffin_signature") != std::string::npos; });
  EXPECT_EQ(master, original_["sqlite_master"]) << "no other table is added";
  auto checks = verify(*load_flist(path_));
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].valid);
}

TEST_F(FlistEdit, BadFilesAreRefusedAndLeftAlone) {
  test::write_text(dir_ / "junk.fl", std::string(4096, 'x'));
  auto r = set_tags(dir_ / "junk.fl", {{"a", "b"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid_input);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE inode SET parent = 99999 WHERE name = 'bin'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  Dump broken = dump(path_);
  r = add_routes(path_, {{0, 0xff, "http://hub/blocks"}}, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid_input);
  EXPECT_NE(r.error().message.find("orphan"), std::string::npos) << r.error().message;
  EXPECT_EQ(dump(path_), broken);
}

// Whole-tree writes (pack, merge) add tiffin's tables only for the extensions the tree uses.
TEST_F(FlistEdit, SavedTreesHoldOnlyTheExtensionTablesTheyUse) {
  Tree t = *load_flist(path_);
  ASSERT_TRUE(save_flist(dir_ / "plain.fl", t));
  Dump plain = dump(dir_ / "plain.fl");
  for (const auto& row : plain["sqlite_master"]) EXPECT_EQ(row.find("tiffin_"), std::string::npos) << row;
  t.config = ImageConfig{{"/bin/sh"}, {}, {}, "/", "", {}};
  ASSERT_TRUE(save_flist(dir_ / "config.fl", t));
  Dump d = dump(dir_ / "config.fl");
  EXPECT_TRUE(d.contains("tiffin_config"));
  EXPECT_FALSE(d.contains("tiffin_xattr") || d.contains("tiffin_hardlink") || d.contains("tiffin_signature"));
}
