#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "flist/content.hpp"
#include "flist/merge.hpp"
#include "flist/pack.hpp"
#include "store/block_codec.hpp"
#include "store/dir_store.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {
void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
}  // namespace

TEST(Pack, DirectoryWithEveryKindOfEntry) {
  test::TempDir dir;
  std::string src = dir / "src";
  ::mkdir(src.c_str(), 0755);
  ::mkdir((src + "/sub").c_str(), 0700);
  std::map<std::string, Bytes> files;
  for (size_t n : {size_t(0), size_t(1), kBlockSize, kBlockSize + 1, 3 * kBlockSize / 2}) {
    std::string name = "f" + std::to_string(n);
    files[name] = test::random_bytes(n, static_cast<uint32_t>(n));
    write_bytes(src + "/sub/" + name, files[name]);
  }
  ::chmod((src + "/sub/f1").c_str(), 04755);
  ::link((src + "/sub/f1").c_str(), (src + "/hard").c_str());
  ::symlink("sub/f1", (src + "/soft").c_str());
  ::mkfifo((src + "/fifo").c_str(), 0600);
  bool have_xattr = ::setxattr((src + "/sub/f0").c_str(), "user.tiffin", "v", 1, 0) == 0;

  auto store = *DirStore::open(dir / "store", true);
  Tree tree;
  std::vector<std::string> notes;
  auto stats = pack(src, *store, tree, {2, false, &notes});
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->files, files.size());

  for (const auto& [name, content] : files) {
    auto idx = tree.find("/sub/" + name);
    ASSERT_TRUE(idx) << name;
    const Node& n = tree.nodes[*idx];
    EXPECT_EQ(n.size, content.size());
    EXPECT_EQ(n.blocks.size(), (content.size() + kBlockSize - 1) / kBlockSize);
    auto back = read_content(n, *store);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, content);
  }
  EXPECT_EQ(tree.nodes[*tree.find("/sub/f1")].mode, S_IFREG | 04755u);
  EXPECT_EQ(tree.nodes[*tree.find("/sub")].mode, S_IFDIR | 0700u);
  const Node& hard = tree.nodes[*tree.find("/hard")];
  const Node& f1 = tree.nodes[*tree.find("/sub/f1")];
  EXPECT_TRUE(hard.hardlink.has_value() || f1.hardlink.has_value());
  EXPECT_EQ(hard.blocks, f1.blocks);
  EXPECT_EQ(tree.nodes[*tree.find("/soft")].link, "sub/f1");
  EXPECT_EQ(tree.nodes[*tree.find("/fifo")].type(), static_cast<uint32_t>(S_IFIFO));
  if (have_xattr) {
    const auto& x = tree.nodes[*tree.find("/sub/f0")].xattrs;
    ASSERT_EQ(x.size(), 1u);
    EXPECT_EQ(x[0].name, "user.tiffin");
  }
}

TEST(Pack, SecondPackSendsNothing) {
  test::TempDir dir;
  ::mkdir((dir / "src").c_str(), 0755);
  write_bytes(dir / "src/a", test::random_bytes(2 * kBlockSize, 1));
  write_bytes(dir / "src/b", test::random_bytes(2 * kBlockSize, 1));  // same content: deduplicated
  auto store = *DirStore::open(dir / "store", true);
  Tree t1, t2;
  auto s1 = pack(dir / "src", *store, t1, {2, false, nullptr});
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->blocks, 4u);
  EXPECT_EQ(s1->blocks_sent, 2u);
  auto s2 = pack(dir / "src", *store, t2, {2, false, nullptr});
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->blocks_sent, 0u);
  EXPECT_EQ(s2->bytes_sent, 0u);
}

TEST(Pack, SocketsAreSkippedWithANote) {
  test::TempDir dir;
  ::mkdir((dir / "src").c_str(), 0755);
  // Bind a unix socket with python to leave a socket file behind.
  ASSERT_EQ(
      std::system(("/usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.bind('" + (dir / "src/sock") + "')\"").c_str()),
      0);
  auto store = *DirStore::open(dir / "store", true);
  Tree tree;
  std::vector<std::string> notes;
  ASSERT_TRUE(pack(dir / "src", *store, tree, {1, false, &notes}));
  EXPECT_FALSE(tree.find("/sock"));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("socket"), std::string::npos);
}

TEST(Pack, MissingSourceIsAnError) {
  test::TempDir dir;
  auto store = *DirStore::open(dir / "store", true);
  Tree tree;
  EXPECT_FALSE(pack(dir / "nope", *store, tree, {}));
}

// A build step's changes: an overlayfs upper directory packed as a layer and merged over the
// tree below gives the tree the container saw.
TEST(Pack, OverlayUpperBecomesALayer) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting overlayfs needs root";
  test::TempDir dir;
  std::string lower = dir / "lower", upper = dir / "upper", work = dir / "work", merged = dir / "merged";
  for (const auto& d : {lower, upper, work, merged, lower + "/gone", lower + "/opaque", lower + "/kept"}) ::mkdir(d.c_str(), 0755);
  for (const char* f : {"/file", "/gone/a", "/opaque/old", "/kept/b"}) write_bytes(lower + f, {'x'});
  std::string opts = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
  ASSERT_EQ(::mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()), 0) << strerror(errno);
  struct Unmount {  // also when an assertion below fails
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{merged};
  ASSERT_EQ(::unlink((merged + "/file").c_str()), 0);
  ASSERT_EQ(::unlink((merged + "/gone/a").c_str()), 0);
  ASSERT_EQ(::rmdir((merged + "/gone").c_str()), 0);
  ASSERT_EQ(::unlink((merged + "/opaque/old").c_str()), 0);
  ASSERT_EQ(::rmdir((merged + "/opaque").c_str()), 0);
  ASSERT_EQ(::mkdir((merged + "/opaque").c_str(), 0700), 0);  // a new directory over a deleted one: opaque
  write_bytes(merged + "/opaque/new", {'n'});
  write_bytes(merged + "/kept/c", {'c'});
  ASSERT_EQ(::umount(merged.c_str()), 0);

  auto store = *DirStore::open(dir / "store", true);
  Tree below, layer;
  ASSERT_TRUE(pack_directory(lower, *store, below, {1, false, nullptr}));
  PackOptions o{1, false, nullptr};
  o.overlay_upper = true;
  auto stats = pack_directory(upper, *store, layer, o);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_TRUE(layer.find("/.wh.file"));
  EXPECT_TRUE(layer.find("/opaque/.wh..wh..opq"));
  for (const auto& n : layer.nodes)
    for (const auto& x : n.xattrs) EXPECT_FALSE(x.name.starts_with("trusted.overlay.")) << n.name << " " << x.name;

  Tree out = merge({below, layer}, {});
  EXPECT_FALSE(out.find("/file"));
  EXPECT_FALSE(out.find("/gone"));
  EXPECT_FALSE(out.find("/opaque/old"));
  EXPECT_TRUE(out.find("/opaque/new"));
  EXPECT_EQ(out.nodes[*out.find("/opaque")].mode, S_IFDIR | 0700u);
  EXPECT_TRUE(out.find("/kept/b"));
  EXPECT_TRUE(out.find("/kept/c"));
  EXPECT_FALSE(out.find("/.wh.file"));

  // A redirected directory's content lives below: refused rather than packed empty.
  ASSERT_EQ(::setxattr((upper + "/kept").c_str(), "trusted.overlay.redirect", "/x", 2, 0), 0);
  Tree again;
  auto refused = pack_directory(upper, *store, again, o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, Errc::unsupported);
}

TEST(Pack, ExcludeLeavesOutEntriesAndDoesNotWalkExcludedDirectories) {
  test::TempDir dir;
  std::string src = dir / "src";
  for (const auto& d : {src, src + "/keep", src + "/skip", src + "/skip/deep"}) ::mkdir(d.c_str(), 0755);
  for (const char* f : {"/keep/a.txt", "/keep/b.log", "/skip/deep/c.txt", "/top.txt"}) write_bytes(src + f, {'x'});
  auto store = *DirStore::open(dir / "store", true);
  std::vector<std::string> asked;
  PackOptions o{1, false, nullptr};
  o.exclude = [&](const std::string& rel, bool is_dir) {
    asked.push_back(rel + (is_dir ? "/" : ""));
    return rel == "skip" || rel.ends_with(".log");
  };
  Tree tree;
  auto stats = pack_directory(src, *store, tree, o);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->files, 2u);
  EXPECT_TRUE(tree.find("/keep/a.txt"));
  EXPECT_TRUE(tree.find("/top.txt"));
  EXPECT_FALSE(tree.find("/keep/b.log"));
  EXPECT_FALSE(tree.find("/skip"));
  EXPECT_EQ(std::count(asked.begin(), asked.end(), "skip/deep/"), 0);
  EXPECT_EQ(std::count(asked.begin(), asked.end(), "keep/"), 1);
}
