// The hub's garbage collector over a real repository: what it marks, what it keeps, what it frees.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>

#include "common/fd.hpp"
#include "flist/flist_file.hpp"
#include "flist/flist_profile.hpp"
#include "flist/pack.hpp"
#include "hub/hub_gc.hpp"
#include "hub/hub_repository.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;
namespace fs = std::filesystem;

namespace {

// Sets a file's mtime `seconds` into the past.
void age(const std::string& path, int64_t seconds) {
  struct timespec t[2];
  ::clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec -= seconds;
  t[1] = t[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << path;
}

int64_t age_of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return ::time(nullptr) - st.st_mtime;
}

class HubGcTest : public ::testing::Test {
 protected:
  void SetUp() override { repo_ = std::make_unique<HubRepository>(*HubRepository::open(root_)); }

  // Packs `files` (name → content) and publishes them as `ref`; returns the tree's blocks.
  std::vector<Hash> publish(const std::string& ref, const std::map<std::string, std::string>& files) {
    std::string src = dir_ / ("src-" + std::to_string(n_++));
    fs::create_directories(src);
    for (const auto& [name, content] : files) test::write_text(src + "/" + name, content);
    Tree tree;
    EXPECT_TRUE(pack_directory(src, repo_->blocks(), tree, {.progress = false}));
    auto info = repo_->put_tree(*parse_flist_ref(ref), tree, "http://hub.test");
    EXPECT_TRUE(info) << (info ? "" : info.error().message);
    return tree.block_ids();
  }
  // Blocks no flist names (a failed upload's), valid ones.
  std::vector<Hash> orphans(size_t n, uint32_t seed) {
    std::vector<Hash> out;
    for (size_t i = 0; i < n; ++i) {
      Bytes b = test::random_bytes(100 + i, seed + uint32_t(i));
      Hash id = blake2b256(b);
      EXPECT_TRUE(repo_->put_block(id, b));
      out.push_back(id);
    }
    return out;
  }
  void age_all_blocks(int64_t seconds) {
    for (const auto& e : fs::recursive_directory_iterator(root_ + "/blocks"))
      if (e.is_regular_file()) age(e.path(), seconds);
  }
  bool has(const Hash& id) { return ::access(repo_->block_path(id).c_str(), F_OK) == 0; }
  size_t block_files() {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root_ + "/blocks")) n += e.is_regular_file();
    return n;
  }
  GcReport gc(std::chrono::seconds grace = std::chrono::seconds(3600), bool dry_run = false) {
    auto r = collect_garbage(root_, {dry_run, grace});
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : GcReport{};
  }

  test::TempDir dir_;
  std::string root_ = dir_ / "hub";
  std::unique_ptr<HubRepository> repo_;
  int n_ = 0;
};

}  // namespace

TEST_F(HubGcTest, MarksEveryUsersFlistsAndFreesTheRest) {
  auto a = publish("alice/a:1", {{"shared", "the shared file\n"}, {"mine", "alice's own\n"}});
  auto b = publish("bob/b:1", {{"shared", "the shared file\n"}, {"mine", "bob's own\n"}});
  auto c = publish("bob/c:1", {{"x", "alice's own\n"}});  // another user's content, again
  auto junk = orphans(5, 7);
  age_all_blocks(7200);

  std::set<Hash> referenced(a.begin(), a.end());
  referenced.insert(b.begin(), b.end());
  referenced.insert(c.begin(), c.end());
  ASSERT_EQ(referenced.size(), 3u);  // shared + two own; c's is alice's
  GcReport r = gc();
  EXPECT_EQ(r.flists_scanned, 3u);
  EXPECT_EQ(r.blocks_marked, 3u);
  EXPECT_EQ(r.blocks_scanned, 8u);
  EXPECT_EQ(r.blocks_freed, 5u);
  EXPECT_GT(r.bytes_freed, 500u);
  for (const Hash& id : referenced) EXPECT_TRUE(has(id));
  for (const Hash& id : junk) EXPECT_FALSE(has(id));

  // Deleting an flist frees exactly what no other names.
  ASSERT_TRUE(repo_->remove(*parse_flist_ref("alice/a:1")));
  r = gc();
  EXPECT_EQ(r.blocks_freed, 0u);  // c still names alice's block, b the shared one
  ASSERT_TRUE(repo_->remove(*parse_flist_ref("bob/c:1")));
  r = gc();
  EXPECT_EQ(r.blocks_freed, 1u);
  EXPECT_FALSE(has(a[0] == b[0] || a[0] == b[1] ? a[1] : a[0]));
  for (const Hash& id : b) EXPECT_TRUE(has(id));
  EXPECT_EQ(block_files(), 2u);
}

TEST_F(HubGcTest, ALinkKeepsItsTargetAndIsNotReadTwice) {
  auto a = publish("alice/a:1", {{"f", "linked\n"}});
  ASSERT_TRUE(repo_->link(*parse_flist_ref("bob/l:1"), *parse_flist_ref("alice/a:1")));
  orphans(2, 3);
  age_all_blocks(7200);
  GcReport r = gc();
  EXPECT_EQ(r.flists_scanned, 1u);
  EXPECT_EQ(r.blocks_freed, 2u);
  for (const Hash& id : a) EXPECT_TRUE(has(id));
}

TEST_F(HubGcTest, GraceKeepsYoungBlocks) {
  publish("alice/a:1", {{"f", "kept\n"}});
  auto junk = orphans(3, 11);
  age(repo_->block_path(junk[0]), 7200);
  GcReport r = gc();
  EXPECT_EQ(r.blocks_young, 2u);
  EXPECT_EQ(r.blocks_freed, 1u);
  EXPECT_FALSE(has(junk[0]));
  EXPECT_TRUE(has(junk[1]));
  // A grace of 0 keeps nothing older than the collection itself.
  r = gc(std::chrono::seconds(0));
  EXPECT_EQ(r.blocks_freed, 2u);
  EXPECT_EQ(block_files(), 1u);
}

TEST_F(HubGcTest, DryRunDeletesNothing) {
  publish("alice/a:1", {{"f", "kept\n"}});
  auto junk = orphans(4, 5);
  age_all_blocks(7200);
  std::string stale_tmp = root_ + "/tmp/upload-1-1";
  test::write_text(stale_tmp, "half an upload");
  age(stale_tmp, 86400);
  GcReport r = gc(std::chrono::seconds(3600), true);
  EXPECT_EQ(r.blocks_freed, 4u);
  EXPECT_EQ(r.temp_files_freed, 1u);
  for (const Hash& id : junk) EXPECT_TRUE(has(id));
  EXPECT_EQ(::access(stale_tmp.c_str(), F_OK), 0);
  EXPECT_EQ(block_files(), 5u);
}

TEST_F(HubGcTest, AnUnreadableFlistAbortsAndFreesNothing) {
  publish("alice/a:1", {{"f", "kept\n"}});
  orphans(3, 9);
  age_all_blocks(7200);
  fs::create_directories(root_ + "/flists/carol");
  test::write_text(root_ + "/flists/carol/bad:1.fl", "not an sqlite database at all, just text");
  auto r = collect_garbage(root_, {false, std::chrono::seconds(0)});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("flists/carol/bad:1.fl"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("nothing was freed"), std::string::npos) << r.error().message;
  EXPECT_EQ(block_files(), 4u);
}

TEST_F(HubGcTest, RfsFlistsAndLayerChainsAreMarked) {
  // rfs's own file, as pushed: its block table is read as rfs wrote it.
  std::string fixture = std::string(TIFFIN_FIXTURES) + "/alpine-latest.fl";
  fs::create_directories(root_ + "/flists/rfs");
  fs::copy_file(fixture, root_ + "/flists/rfs/alpine:latest.fl");
  auto ids = *flist_block_ids(fixture);
  ASSERT_FALSE(ids.empty());
  for (const Hash& id : ids) {  // stand-ins: the collector never reads a block's content
    fs::create_directories(fs::path(repo_->block_path(id)).parent_path());
    test::write_text(repo_->block_path(id), "sealed");
  }
  // A converted layer chain (image/convert.hpp) names blocks no published flist does.
  std::string layer_src = dir_ / "layer";
  fs::create_directories(layer_src);
  test::write_text(layer_src + "/etc-file", "a base layer's file\n");
  Tree layer;
  ASSERT_TRUE(pack_directory(layer_src, repo_->blocks(), layer, {.progress = false}));
  fs::create_directories(root_ + "/layers");
  ASSERT_TRUE(save_flist(root_ + "/layers/0123abcd.fl", layer));
  auto junk = orphans(2, 1);
  age_all_blocks(7200);
  GcReport r = gc(std::chrono::seconds(0));
  EXPECT_EQ(r.flists_scanned, 2u);
  EXPECT_EQ(r.blocks_marked, ids.size() + layer.block_ids().size());
  EXPECT_EQ(r.blocks_freed, 2u);
  for (const Hash& id : ids) EXPECT_TRUE(has(id));
  for (const Hash& id : layer.block_ids()) EXPECT_TRUE(has(id));
}

TEST_F(HubGcTest, StaleTempFilesAndProfilesGo) {
  publish("alice/a:1", {{"f", "kept\n"}});
  auto info = *repo_->info(*parse_flist_ref("alice/a:1"));
  std::string live = root_ + "/profiles/" + info.sha256, stale = root_ + "/profiles/" + std::string(64, 'e');
  fs::create_directories(live);
  fs::create_directories(stale);
  test::write_text(stale + "/merged.profile", "# tiffin prefetch profile v1\n");
  age(live, 86400);
  age(stale, 86400);
  std::string old_tmp = root_ + "/tmp/upload-9-9", new_tmp = root_ + "/tmp/upload-9-10";
  test::write_text(old_tmp, "x");
  test::write_text(new_tmp, "y");
  age(old_tmp, 86400);
  // Even with a grace of 0, a temp file written to lately may be a request still running.
  GcReport r = gc(std::chrono::seconds(0));
  EXPECT_EQ(r.temp_files_freed, 1u);
  EXPECT_EQ(r.profiles_freed, 1u);
  EXPECT_FALSE(fs::exists(old_tmp));
  EXPECT_TRUE(fs::exists(new_tmp));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
}

TEST_F(HubGcTest, MissingAndReuploadsMakeBlocksYoung) {
  auto junk = orphans(2, 21);
  age_all_blocks(7200);
  Hash absent = blake2b256(test::random_bytes(64, 99));
  auto missing = *repo_->missing({junk[0], absent});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], absent);
  EXPECT_LT(age_of(repo_->block_path(junk[0])), 60);
  EXPECT_GT(age_of(repo_->block_path(junk[1])), 7000);
  Bytes again = test::random_bytes(101, 22);  // junk[1]'s bytes
  ASSERT_EQ(blake2b256(again), junk[1]);
  ASSERT_TRUE(repo_->put_block(junk[1], again));
  EXPECT_LT(age_of(repo_->block_path(junk[1])), 60);
  // Both are a push's now: the collector keeps them.
  GcReport r = gc();
  EXPECT_EQ(r.blocks_young, 2u);
  EXPECT_EQ(r.blocks_freed, 0u);
}

TEST_F(HubGcTest, AnInstallNamingACollectedBlockIsRefused) {
  auto ids = publish("alice/a:1", {{"f", "content\n"}});
  ASSERT_TRUE(repo_->remove(*parse_flist_ref("alice/a:1")));
  age_all_blocks(7200);
  // A push that was told the block was there, before the collector freed it.
  std::string src = dir_ / "again";
  fs::create_directories(src);
  test::write_text(src + "/f", "content\n");
  auto local = *DirStore::open(dir_ / "local", true);
  Tree tree;
  ASSERT_TRUE(pack_directory(src, *local, tree, {.progress = false}));
  ASSERT_TRUE(save_flist(dir_ / "a.fl", tree));
  ASSERT_EQ(gc().blocks_freed, ids.size());
  std::string upload = repo_->temp_path();
  fs::copy_file(dir_ / "a.fl", upload);
  auto put = repo_->put_flist(*parse_flist_ref("alice/a:2"), upload);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().kind, Errc::conflict);
}

// A node's root (Engine::free_unused_blocks): images, build cache entries and converted layers
// keep their blocks; the hub's directories mean nothing there, and a node's tmp/ is left alone.
TEST(NodeGcTest, ImagesBuildCacheAndLayersKeepTheirBlocks) {
  test::TempDir dir;
  std::string root = dir / "node";
  auto store = *DirStore::open(root + "/blocks", true);
  auto packed = [&](const std::string& name, const std::string& content) {
    std::string src = dir / ("src-" + name);
    fs::create_directories(src);
    test::write_text(src + "/f", content);
    Tree t;
    EXPECT_TRUE(pack_directory(src, *store, t, {.progress = false}));
    return t;
  };
  Tree image = packed("image", "an image's file\n"), cached = packed("cached", "a RUN layer's file\n"),
       layer = packed("layer", "a converted layer's file\n"), removed = packed("removed", "an rmi'd image's file\n"),
       hub_only = packed("hub", "named only under flists/\n");
  for (const char* d : {"images", "build-cache", "layers", "flists/alice", "tmp"}) fs::create_directories(root + "/" + d);
  ASSERT_TRUE(save_flist(root + "/images/1111.fl", image));
  ASSERT_TRUE(save_flist(root + "/build-cache/2222.fl", cached));
  ASSERT_TRUE(save_flist(root + "/layers/3333.fl", layer));
  ASSERT_TRUE(save_flist(root + "/flists/alice/x.fl", hub_only));
  std::string tmp = root + "/tmp/context-spool";
  test::write_text(tmp, "a build context on its way");
  age(tmp, 86400);
  auto r = collect_garbage(root, {.grace = std::chrono::seconds(0), .layout = GcOptions::Layout::node});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->flists_scanned, 3u);
  EXPECT_EQ(r->blocks_freed, removed.block_ids().size() + hub_only.block_ids().size());
  EXPECT_GT(r->bytes_freed, 0u);
  auto present = [&](const Tree& t) {
    for (const Hash& id : t.block_ids())
      if (::access(store->block_path(id).c_str(), F_OK) != 0) return false;
    return true;
  };
  EXPECT_TRUE(present(image));
  EXPECT_TRUE(present(cached));
  EXPECT_TRUE(present(layer));
  EXPECT_FALSE(present(removed));
  EXPECT_FALSE(present(hub_only));
  EXPECT_TRUE(fs::exists(tmp));
}
