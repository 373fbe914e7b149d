// Tar import, including archives crafted to escape or confuse.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "flist/content.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "store/dir_store.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {

struct Entry {
  std::string path;
  mode_t mode;
  std::string data;  // content, or symlink / hard link target
  bool hardlink = false;
  dev_t rdev = 0;
};

void write_tar(const std::string& path, const std::vector<Entry>& entries, bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_open_filename(a, path.c_str());
  for (const auto& e : entries) {
    archive_entry* en = archive_entry_new();
    archive_entry_set_pathname(en, e.path.c_str());
    archive_entry_set_mode(en, e.mode);
    archive_entry_set_uid(en, 1000);
    archive_entry_set_gid(en, 1001);
    archive_entry_set_mtime(en, 1600000000, 0);
    if (e.hardlink) {
      archive_entry_set_hardlink(en, e.data.c_str());
      archive_entry_set_size(en, 0);
    } else if (S_ISLNK(e.mode)) {
      archive_entry_set_symlink(en, e.data.c_str());
    } else if (S_ISREG(e.mode)) {
      archive_entry_set_size(en, static_cast<la_int64_t>(e.data.size()));
    }
    if (e.rdev) archive_entry_set_rdev(en, e.rdev);
    if (e.path == "etc/x") archive_entry_xattr_add_entry(en, "user.k", "val", 3);
    archive_write_header(a, en);
    if (S_ISREG(e.mode) && !e.hardlink) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(en);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class Tar : public ::testing::Test {
 protected:
  Result<PackStats> pack_file(const std::string& tar, Tree& tree) {
    UniqueFd fd(::open(tar.c_str(), O_RDONLY));
    return pack_tar(fd.get(), tar, *store_, tree, {1, false, nullptr});
  }
  void expect_refused(const std::vector<Entry>& entries, const std::string& part) {
    write_tar(dir_ / "bad.tar", entries);
    Tree tree;
    auto r = pack_file(dir_ / "bad.tar", tree);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, Errc::invalid_input);
    EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
  }
  test::TempDir dir_;
  std::shared_ptr<DirStore> store_ = *DirStore::open(dir_ / "store", true);
};

}  // namespace

TEST_F(Tar, EveryEntryType) {
  std::string big(700000, 'z');
  write_tar(dir_ / "ok.tar.gz",
      {{"./", S_IFDIR | 0755, ""}, {"etc/x", S_IFREG | 0640, "hello"},  // parent created implicitly
          {"etc/big", S_IFREG | 0644, big}, {"etc/hl", S_IFREG | 0640, "etc/x", true}, {"bin/sh", S_IFLNK | 0777, "/bin/busybox"},
          {"dev/null", S_IFCHR | 0666, "", false, makedev(1, 3)}, {"run/fifo", S_IFIFO | 0600, ""}, {"/abs/file", S_IFREG | 0600, "abs"}},
      true);
  Tree tree;
  auto r = pack_file(dir_ / "ok.tar.gz", tree);
  ASSERT_TRUE(r) << r.error().message;
  const Node& x = tree.nodes[*tree.find("/etc/x")];
  EXPECT_EQ(x.mode, S_IFREG | 0640u);
  EXPECT_EQ(x.uid, 1000u);
  EXPECT_EQ(x.gid, 1001u);
  EXPECT_EQ(x.mtime, 1600000000);
  ASSERT_EQ(x.xattrs.size(), 1u);
  EXPECT_EQ(x.xattrs[0].name, "user.k");
  EXPECT_EQ(*read_content(x, *store_), Bytes({'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(tree.nodes[*tree.find("/etc/big")].blocks.size(), 2u);
  const Node& hl = tree.nodes[*tree.find("/etc/hl")];
  EXPECT_TRUE(hl.hardlink.has_value());
  EXPECT_EQ(hl.blocks, x.blocks);
  EXPECT_EQ(tree.nodes[*tree.find("/bin/sh")].link, "/bin/busybox");
  EXPECT_EQ(tree.nodes[*tree.find("/dev/null")].rdev, makedev(1, 3));
  EXPECT_EQ(tree.nodes[*tree.find("/run/fifo")].type(), static_cast<uint32_t>(S_IFIFO));
  EXPECT_TRUE(tree.find("/abs/file")) << "a leading / is dropped, as tar does";
}

TEST_F(Tar, DotDotIsRefused) { expect_refused({{"../evil", S_IFREG | 0644, "x"}}, ".."); }
TEST_F(Tar, DotDotInsideIsRefused) { expect_refused({{"a/../../evil", S_IFREG | 0644, "x"}}, ".."); }
TEST_F(Tar, HardLinkToNothingIsRefused) { expect_refused({{"a", S_IFREG | 0644, "missing", true}}, "hard link"); }
TEST_F(Tar, HardLinkOutsideIsRefused) { expect_refused({{"a", S_IFREG | 0644, "../../etc/passwd", true}}, "hard link"); }
TEST_F(Tar, EntryThroughASymlinkIsRefused) {
  expect_refused({{"etc", S_IFLNK | 0777, "/etc"}, {"etc/passwd", S_IFREG | 0644, "root::0:0"}}, "not a directory");
}
TEST_F(Tar, RootThatIsNotADirectoryIsRefused) { expect_refused({{".", S_IFREG | 0644, "x"}}, "root"); }

TEST_F(Tar, TruncatedArchiveIsAnError) {
  write_tar(dir_ / "t.tar", {{"f", S_IFREG | 0644, std::string(100000, 'a')}});
  ::truncate((dir_ / "t.tar").c_str(), 30000);
  Tree tree;
  auto r = pack_file(dir_ / "t.tar", tree);
  ASSERT_FALSE(r);
}

TEST_F(Tar, GarbageIsAnError) {
  test::write_text(dir_ / "g.tar", std::string(4096, 'q'));
  Tree tree;
  auto r = pack_file(dir_ / "g.tar", tree);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid_input);
}

TEST_F(Tar, LaterEntriesReplaceEarlierOnes) {
  write_tar(dir_ / "r.tar", {{"f", S_IFREG | 0644, "one"}, {"f", S_IFREG | 0600, "two!"}});
  Tree tree;
  ASSERT_TRUE(pack_file(dir_ / "r.tar", tree));
  const Node& f = tree.nodes[*tree.find("/f")];
  EXPECT_EQ(f.size, 4u);
  EXPECT_EQ(f.mode, S_IFREG | 0600u);
}

namespace {

// Applies `layers` in order as OCI layers over one tree.
Result<Tree> apply_layers(const test::TempDir& dir, BlockStore& store, const std::vector<std::vector<Entry>>& layers) {
  Tree tree;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string tar = dir / ("layer" + std::to_string(i) + ".tar");
    write_tar(tar, layers[i]);
    UniqueFd fd(::open(tar.c_str(), O_RDONLY));
    PackOptions o{1, false, nullptr};
    o.oci_layer = true;
    TRY(pack_tar(fd.get(), tar, store, tree, o));
  }
  settle_hardlinks(tree);
  return tree;
}

}  // namespace

TEST_F(Tar, OciLayersApplyWhiteoutsAndOpaqueDirectories) {
  auto tree = apply_layers(dir_, *store_,
      {{{"a/keep", S_IFREG | 0644, "k"}, {"a/gone", S_IFREG | 0644, "g"}, {"o/old", S_IFREG | 0644, "1"},
           {"o/sub/old", S_IFREG | 0644, "2"}, {"d/f", S_IFREG | 0644, "f"}},
          // The opaque marker after an entry of the same layer: that entry stays (order does not matter).
          {{"a/.wh.gone", S_IFREG | 0600, ""}, {".wh.d", S_IFREG | 0600, ""}, {"o/new", S_IFREG | 0644, "n"},
              {"o/sub/new", S_IFREG | 0644, "n2"}, {"o/.wh..wh..opq", S_IFREG | 0600, ""}, {"a/.wh.never-there", S_IFREG | 0600, ""}}});
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_TRUE(tree->find("/a/keep"));
  EXPECT_FALSE(tree->find("/a/gone"));
  EXPECT_FALSE(tree->find("/d"));
  EXPECT_FALSE(tree->find("/o/old"));
  EXPECT_FALSE(tree->find("/o/sub/old"));  // below an opaque directory, lower content goes at every depth
  EXPECT_TRUE(tree->find("/o/new"));
  EXPECT_TRUE(tree->find("/o/sub/new"));
  for (size_t i : tree->preorder()) EXPECT_FALSE(tree->nodes[i].name.starts_with(".wh.")) << tree->path_of(i);
}

TEST_F(Tar, OciLayersKeepHardLinksWhoseFirstFileWasRemoved) {
  auto tree = apply_layers(dir_, *store_,
      {{{"f", S_IFREG | 0644, "shared"}, {"g", S_IFREG | 0644, "f", true}, {"h", S_IFREG | 0644, "f", true}},
          {{".wh.f", S_IFREG | 0600, ""}}});
  ASSERT_TRUE(tree) << tree.error().message;
  const Node& g = tree->nodes[*tree->find("/g")];
  const Node& h = tree->nodes[*tree->find("/h")];
  EXPECT_FALSE(g.hardlink);  // the new first of the group
  ASSERT_TRUE(h.hardlink);
  EXPECT_EQ(*h.hardlink, *tree->find("/g"));
  EXPECT_EQ(*read_content(h, *store_), Bytes({'s', 'h', 'a', 'r', 'e', 'd'}));
  // And the tree saves and loads as it is.
  ASSERT_TRUE(save_flist(dir_ / "x.fl", *tree));
  auto back = load_flist(dir_ / "x.fl");
  ASSERT_TRUE(back) << back.error().message;
}

TEST_F(Tar, OciLayersRefuseWritingThroughASymlink) {
  auto tree = apply_layers(dir_, *store_, {{{"evil", S_IFLNK | 0777, "/etc"}}, {{"evil/passwd", S_IFREG | 0644, "owned"}}});
  ASSERT_FALSE(tree);
  EXPECT_NE(tree.error().message.find("not a directory"), std::string::npos) << tree.error().message;
}

TEST_F(Tar, WhiteoutNamesAreOrdinaryOutsideLayers) {
  write_tar(dir_ / "plain.tar", {{".wh.x", S_IFREG | 0644, "data"}});
  Tree tree;
  ASSERT_TRUE(pack_file(dir_ / "plain.tar", tree));
  EXPECT_TRUE(tree.find("/.wh.x"));
}
