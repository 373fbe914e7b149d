// Flists made by the real rfs read back exactly as SQLite holds them.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "flist/content.hpp"
#include "flist/flist_file.hpp"
#include "common/fd.hpp"
#include "store/block_codec.hpp"

using namespace tiffin;

namespace {

struct Row {
  int64_t parent, size, uid, gid, mode, rdev, ctime, mtime;
  std::string name;
};

std::map<int64_t, Row> raw_inodes(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT ino, parent, name, size, uid, gid, mode, rdev, ctime, mtime FROM inode", -1, &st, nullptr);
  std::map<int64_t, Row> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    Row r{sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
        sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7), sqlite3_column_int64(st, 8), sqlite3_column_int64(st, 9),
        reinterpret_cast<const char*>(sqlite3_column_text(st, 2))};
    rows[sqlite3_column_int64(st, 0)] = r;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

std::vector<std::tuple<int64_t, std::string, std::string>> raw_blocks(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT ino, hex(id), hex(key) FROM block ORDER BY rowid", -1, &st, nullptr);
  std::vector<std::tuple<int64_t, std::string, std::string>> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string id = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    std::string key = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
    for (auto& c : id) c = static_cast<char>(std::tolower(c));
    for (auto& c : key) c = static_cast<char>(std::tolower(c));
    out.emplace_back(sqlite3_column_int64(st, 0), id, key);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class Fixture : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Fixture, ReadsExactlyWhatSqliteHolds) {
  std::string path = std::string(TIFFIN_FIXTURES) + "/" + GetParam();
  auto tree = load_flist(path);
  ASSERT_TRUE(tree) << tree.error().message;
  auto rows = raw_inodes(path);
  ASSERT_EQ(tree->nodes.size(), rows.size());
  std::map<uint64_t, size_t> by_ino;
  for (size_t i = 0; i < tree->nodes.size(); ++i) by_ino[tree->nodes[i].ino] = i;
  for (const auto& [ino, r] : rows) {
    ASSERT_TRUE(by_ino.contains(static_cast<uint64_t>(ino)));
    const Node& n = tree->nodes[by_ino[static_cast<uint64_t>(ino)]];
    EXPECT_EQ(n.name, r.name);
    EXPECT_EQ(static_cast<int64_t>(n.size), r.size);
    EXPECT_EQ(static_cast<int64_t>(n.uid), r.uid);
    EXPECT_EQ(static_cast<int64_t>(n.gid), r.gid);
    EXPECT_EQ(static_cast<int64_t>(n.mode), r.mode);
    EXPECT_EQ(static_cast<int64_t>(n.rdev), r.rdev);
    EXPECT_EQ(n.ctime, r.ctime);
    EXPECT_EQ(n.mtime, r.mtime);
    if (ino != 1) {
      EXPECT_EQ(static_cast<int64_t>(tree->nodes[n.parent].ino), r.parent);
    }
  }
  // Blocks: every row, in file order.
  auto blocks = raw_blocks(path);
  std::map<int64_t, size_t> next;
  for (const auto& [ino, id, key] : blocks) {
    const Node& n = tree->nodes[by_ino[static_cast<uint64_t>(ino)]];
    size_t k = next[ino]++;
    ASSERT_LT(k, n.blocks.size());
    EXPECT_EQ(to_hex(n.blocks[k].id), id);
    EXPECT_EQ(to_hex(n.blocks[k].key), key);
  }
  ASSERT_FALSE(tree->routes.empty());
  EXPECT_EQ(tree->routes[0].start, 0);
  EXPECT_EQ(tree->routes[0].end, 255);
}

INSTANTIATE_TEST_SUITE_P(Rfs, Fixture, ::testing::Values("alpine-latest.fl", "hello-world-latest.fl", "keinos-sqlite3-latest.fl"));

TEST(Fixtures, AlpineDetails) {
  auto tree = load_flist(std::string(TIFFIN_FIXTURES) + "/alpine-latest.fl");
  ASSERT_TRUE(tree);
  EXPECT_EQ(tree->nodes.size(), 527u);
  EXPECT_EQ(tree->routes[0].url, "dir:///tmp/rfs-e2e-tests/store");
  auto arch = resolve(*tree, "/etc/apk/arch", false);
  ASSERT_TRUE(arch);
  const Node& n = tree->nodes[*arch];
  EXPECT_EQ(n.size, 7u);
  ASSERT_EQ(n.blocks.size(), 1u);
  EncodedBlock b = encode_block(Bytes{'x', '8', '6', '_', '6', '4', '\n'});
  EXPECT_EQ(n.blocks[0].id, b.id);
  EXPECT_EQ(n.blocks[0].key, b.key);
  auto hw = resolve(*tree, "/sbin/hwclock", false);
  ASSERT_TRUE(hw);
  EXPECT_TRUE(tree->nodes[*hw].is_symlink());
  EXPECT_EQ(tree->nodes[*hw].link, "/bin/busybox");
  // Symlinks resolve inside the flist.
  auto via_link = resolve(*tree, "/sbin/hwclock", true);
  ASSERT_TRUE(via_link);
  EXPECT_EQ(tree->path_of(*via_link), "/bin/busybox");
}

// tests/fixtures/rfs/content/<flist>/<path> holds files of those images whose content could be
// reconstructed (each proven by its key, the BLAKE2b of the content, which the flist holds).
// Encoding each must give rfs's very block: the same key and the same id, in every row of every
// fixture that holds that content.
TEST(Fixtures, EveryReconstructedFileEncodesToRfsBlock) {
  namespace fs = std::filesystem;
  const std::string root = std::string(TIFFIN_FIXTURES) + "/content";
  std::map<std::string, Tree> flists;
  for (const char* name : {"alpine-latest", "hello-world-latest", "keinos-sqlite3-latest"}) {
    auto tree = load_flist(std::string(TIFFIN_FIXTURES) + "/" + name + ".fl");
    ASSERT_TRUE(tree) << tree.error().message;
    flists.emplace(name, std::move(*tree));
  }
  size_t files = 0, rows = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    fs::path rel = fs::relative(entry.path(), root);
    std::string flist = rel.begin()->string(), path = "/" + fs::relative(rel, flist).string();
    SCOPED_TRACE(flist + ":" + path);
    auto content = read_file(entry.path().string(), 1 << 20);
    ASSERT_TRUE(content);
    const Tree& tree = flists.at(flist);
    auto idx = resolve(tree, path, false);
    ASSERT_TRUE(idx);
    const Node& n = tree.nodes[*idx];
    ASSERT_EQ(n.blocks.size(), 1u);
    EncodedBlock b = encode_block(*content);
    ASSERT_EQ(to_hex(n.blocks[0].key), to_hex(b.key)) << "the reconstructed content is not the file's";
    EXPECT_EQ(to_hex(n.blocks[0].id), to_hex(b.id));
    ++files;
    for (const auto& [name, other] : flists)
      for (const Node& m : other.nodes)
        for (const BlockRef& r : m.blocks)
          if (r.key == b.key) {
            EXPECT_EQ(to_hex(r.id), to_hex(b.id)) << name << ":" << other.path_of(static_cast<size_t>(&m - other.nodes.data()));
            ++rows;
          }
  }
  EXPECT_GE(files, 27u);
  EXPECT_GE(rows, 43u);
  std::printf("%zu reconstructed files, %zu block rows of rfs's equal to tiffin's\n", files, rows);
}
