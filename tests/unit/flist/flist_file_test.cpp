#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "flist/flist_file.hpp"
#include "flist/signature.hpp"
#include "store/block_codec.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {

Tree sample_tree() {
  Tree t;
  Node etc;
  etc.name = "etc";
  size_t etc_i = t.put(Tree::kRoot, etc);
  Node f;
  f.name = "hosts";
  f.mode = S_IFREG | 04755;
  f.uid = 1000;
  f.gid = 2000;
  f.size = 7;
  f.mtime = 1700000000;
  f.ctime = 1700000001;
  EncodedBlock b = encode_block(Bytes{'x', '8', '6', '_', '6', '4', '\n'});
  f.blocks = {{b.id, b.key}};
  f.xattrs = {{"user.a", Bytes{1, 2, 3}}, {"trusted.b", Bytes{}}};
  size_t hosts = t.put(etc_i, f);
  Node h = f;
  h.name = "hosts.link";
  h.hardlink = hosts;
  t.put(etc_i, h);
  Node l;
  l.name = "link";
  l.mode = S_IFLNK | 0777;
  l.link = "etc/hosts";
  l.size = 9;
  t.put(Tree::kRoot, l);
  Node dev;
  dev.name = "null";
  dev.mode = S_IFCHR | 0666;
  dev.rdev = (1 << 8) | 3;
  t.put(etc_i, dev);
  t.tags = {{"version", "1"}, {"author", "me"}};
  t.routes = {{0, 0x7f, "dir:///a"}, {0x80, 0xff, "zdb://h:9900/ns"}};
  t.config = ImageConfig{{"/bin/sh"}, {"-c", "true"}, {"A=1"}, "/", "root", {"80/tcp"}};
  return t;
}

std::string table_sql(const std::string& path, const std::string& name) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = ?", -1, &st, nullptr);
  sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  std::string out = sqlite3_step(st) == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(st, 0)) : "";
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace

TEST(FlistFile, SaveThenLoadKeepsEverything) {
  test::TempDir dir;
  Tree t = sample_tree();
  ASSERT_TRUE(save_flist(dir / "x.fl", t));
  auto back = load_flist(dir / "x.fl");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(flist_digest(*back), flist_digest(t));
  auto hosts = back->find("/etc/hosts");
  auto link = back->find("/etc/hosts.link");
  ASSERT_TRUE(hosts && link);
  EXPECT_EQ(back->nodes[*hosts].mode, S_IFREG | 04755u);
  EXPECT_EQ(back->nodes[*hosts].uid, 1000u);
  EXPECT_EQ(back->nodes[*hosts].gid, 2000u) << "gid is read from the gid column (rfs reads uid there)";
  EXPECT_EQ(back->nodes[*hosts].xattrs.size(), 2u);
  EXPECT_EQ(back->nodes[*link].hardlink, hosts);
  EXPECT_EQ(back->nodes[*back->find("/link")].link, "etc/hosts");
  EXPECT_EQ(back->nodes[*back->find("/etc/null")].rdev, (1u << 8) | 3u);
  EXPECT_EQ(back->tags, t.tags);
  ASSERT_EQ(back->routes.size(), 2u);
  EXPECT_EQ(back->routes[1].url, "zdb://h:9900/ns");
  EXPECT_EQ(back->config, t.config);
}

TEST(FlistFile, WritesRfsSchemaVerbatim) {
  test::TempDir dir;
  ASSERT_TRUE(save_flist(dir / "x.fl", sample_tree()));
  std::string fixture = std::string(TIFFIN_FIXTURES) + "/alpine-latest.fl";
  for (const char* t : {"inode", "extra", "block", "tag", "route", "parents", "names", "block_ino"})
    EXPECT_EQ(table_sql(dir / "x.fl", t), table_sql(fixture, t)) << t;
}

TEST(FlistFile, ResavingAnRfsFlistKeepsItsDigest) {
  test::TempDir dir;
  auto a = load_flist(std::string(TIFFIN_FIXTURES) + "/keinos-sqlite3-latest.fl");
  ASSERT_TRUE(a);
  ASSERT_TRUE(save_flist(dir / "k.fl", *a));
  auto b = load_flist(dir / "k.fl");
  ASSERT_TRUE(b);
  EXPECT_EQ(flist_digest(*a), flist_digest(*b));
}

TEST(FlistFile, AFailedSaveLeavesTheOldFileAndNoTempFile) {
  test::TempDir dir;
  Tree original = sample_tree();
  ASSERT_TRUE(save_flist(dir / "x.fl", original));
  Tree bigger = sample_tree();
  for (int i = 0; i < 5000; ++i) bigger.tags["tag" + std::to_string(i)] = std::string(100, 'v');
  // A child whose files may not grow past 16 KiB: the save fails while writing, even as root.
  pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{16384, 16384};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    _exit(save_flist(dir / "x.fl", bigger) ? 1 : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the save should have failed";
  auto back = load_flist(dir / "x.fl");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(flist_digest(*back), flist_digest(original));
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u) << "no temp file left behind";
}
