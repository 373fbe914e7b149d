#include "snapshotter/snapshotter.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <fstream>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace tiffin::snapshotter {
namespace {

// Stands for the hub: images named "lazy/…" resolve, "broken/…" fail, others are not served.
// A chain is the parent's chain and the layer's digest joined by '/'.
struct FakeImages : LazyImages {
  explicit FakeImages(std::string dir) : dir(std::move(dir)) {}
  Result<std::optional<LazyLayer>> resolve(const Labels& labels, const std::optional<std::string>& parent_chain) override {
    ++resolves;
    if (during_resolve) during_resolve();
    std::string ref = labels.count(kImageRefLabel) ? labels.at(kImageRefLabel) : "";
    if (ref.starts_with("broken/")) return fail(Errc::unavailable, "hub down");
    if (!ref.starts_with("lazy/")) return std::nullopt;
    LazyLayer out{.image = labels.at(kManifestDigestLabel)};
    if (parent_chain) {
      out.chain = *parent_chain + "/" + labels.at(kLayerDigestLabel);
      out.chain_key = "chain" + out.chain;
    }
    return out;
  }
  Result<std::string> mount(const std::string& key) override {
    mounted.push_back(key);
    return dir + "/" + key;
  }
  void release(const std::string& key) override { released.push_back(key); }
  void release_all_but(const std::set<std::string>& keep) override {
    for (const auto& k : mounted)
      if (!keep.contains(k)) released.push_back(k);
  }
  std::string dir;
  std::function<void()> during_resolve;
  int resolves = 0;
  std::vector<std::string> mounted, released;
};

// The labels of a CRI pull's Prepare of one layer: `layers` are this layer's digest and those
// above it, comma-separated (the first is this one's).
Labels layer_labels(const std::string& image, const std::string& chain, const std::string& layers) {
  return {{kTargetRefLabel, chain}, {kImageRefLabel, image}, {kManifestDigestLabel, "m1"},
      {kLayerDigestLabel, layers.substr(0, layers.find(','))}, {kImageLayersLabel, layers}};
}

class SnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    sn.reset();
    auto fake = std::make_unique<FakeImages>(tmp / "mnt");
    images = fake.get();
    auto s = Snapshotter::open(tmp / "root", std::move(fake));
    ASSERT_TRUE(s) << s.error().what();
    sn = std::move(*s);
  }
  std::string fs_dir(const std::string& key) { return tmp / ("root/snapshots/" + std::to_string(sn->stat(key)->id) + "/fs"); }

  test::TempDir tmp;
  std::unique_ptr<Snapshotter> sn;
  FakeImages* images = nullptr;
};

TEST_F(SnapshotterTest, LayersStackAsOverlay) {
  auto base = sn->prepare("extract-1", "", {});
  ASSERT_TRUE(base) << base.error().what();
  ASSERT_EQ(base->size(), 1u);
  EXPECT_EQ((*base)[0], (Mount{"bind", fs_dir("extract-1"), {"rw", "rbind"}}));
  std::string base_dir = fs_dir("extract-1");
  std::ofstream(base_dir + "/hello") << "hi";
  ASSERT_TRUE(sn->update(Snapshot{.name = "extract-1", .labels = {{"active", "1"}}}, {}));
  ASSERT_TRUE(sn->commit("layer-1", "extract-1", {{"x", "1"}}));
  auto info = sn->stat("layer-1");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, Kind::committed);
  EXPECT_EQ(info->labels, (Labels{{"x", "1"}}));  // the active snapshot's labels are not inherited
  EXPECT_FALSE(sn->stat("extract-1"));

  auto c = sn->prepare("container", "layer-1", {});
  ASSERT_TRUE(c) << c.error().what();
  std::string id = std::to_string(sn->stat("container")->id);
  std::string d = tmp / ("root/snapshots/" + id);
  EXPECT_EQ(
      (*c)[0], (Mount{"overlay", "overlay", {"index=off", "workdir=" + d + "/work", "upperdir=" + d + "/fs", "lowerdir=" + base_dir}}));
  auto v = sn->view("view", "layer-1", {});
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)[0], (Mount{"bind", base_dir, {"ro", "rbind"}}));
  EXPECT_EQ(*sn->mounts("container"), *c);

  auto u = sn->usage("layer-1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->inodes, 2);  // the directory and the file
  EXPECT_GT(u->size, 0);
}

TEST_F(SnapshotterTest, RefusalsAreClear) {
  EXPECT_EQ(sn->prepare("a", "missing", {}).error().kind, Errc::not_found);
  ASSERT_TRUE(sn->prepare("a", "", {}));
  EXPECT_EQ(sn->prepare("a", "", {}).error().kind, Errc::conflict);
  EXPECT_EQ(sn->prepare("b", "a", {}).error().kind, Errc::invalid_input);  // parent not committed (containerd's rule)
  ASSERT_TRUE(sn->commit("A", "a", {}));
  EXPECT_EQ(sn->commit("A2", "A", {}).error().kind, Errc::unsupported);  // only active commits
  EXPECT_EQ(sn->mounts("A").error().kind, Errc::unsupported);            // a layer does not mount
  ASSERT_TRUE(sn->prepare("b", "A", {}));
  auto busy = sn->remove("A");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().kind, Errc::unsupported);
  EXPECT_NE(busy.error().what().find("children"), std::string::npos);
  ASSERT_TRUE(sn->remove("b"));
  ASSERT_TRUE(sn->remove("A"));
  EXPECT_TRUE(fs::is_empty(tmp / "root/snapshots"));
  EXPECT_EQ(sn->remove("A").error().kind, Errc::not_found);
}

TEST_F(SnapshotterTest, ImageLayersServedLazilyAreNeverUnpacked) {
  // Two layers of a lazily served image: containerd must hear "already exists" for both.
  auto l1 = sn->prepare("ns/1/extract-a", "", layer_labels("lazy/app:1", "sha256:c1", "sha256:l1,sha256:l2"));
  ASSERT_FALSE(l1);
  EXPECT_EQ(l1.error().kind, Errc::conflict);
  auto l2 = sn->prepare("ns/2/extract-b", "sha256:c1", layer_labels("lazy/app:1", "sha256:c2", "sha256:l2"));
  ASSERT_FALSE(l2);
  EXPECT_EQ(l2.error().kind, Errc::conflict);
  EXPECT_FALSE(sn->stat("ns/1/extract-a"));  // no active snapshot was made

  // containerd then finds the target with exactly this filter.
  auto found = sn->list({R"(labels."containerd.io/snapshot.ref"==sha256:c2,parent=="sha256:c1")"});
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].kind, Kind::committed);
  EXPECT_TRUE((*found)[0].remote_top);
  EXPECT_FALSE(sn->stat("sha256:c1")->remote_top);

  // A container on the top layer: the image's mount is its only lower layer.
  auto c = sn->prepare("ns/3/ctr", "sha256:c2", {});
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ((*c)[0].options.back(), "lowerdir=" + (tmp / "mnt/m1"));
  EXPECT_EQ(images->mounted, std::vector<std::string>{"m1"});  // the lower layer's chain was never needed
  // On the layer below (the top of an image that is a prefix of this one): its own chain.
  auto below = sn->prepare("ns/4/ctr", "sha256:c1", {});
  ASSERT_TRUE(below) << below.error().what();
  EXPECT_EQ((*below)[0].options.back(), "lowerdir=" + (tmp / "mnt/chain/sha256:l1"));
  EXPECT_EQ(sn->stat("sha256:c2")->chain, "/sha256:l1/sha256:l2");

  // Asked again (another namespace pulling the same image): already there, nothing resolved.
  int before = images->resolves;
  EXPECT_EQ(
      sn->prepare("ns2/1/extract-c", "", layer_labels("lazy/app:1", "sha256:c1", "sha256:l1,sha256:l2")).error().kind, Errc::conflict);
  EXPECT_EQ(images->resolves, before);

  // Removing the last snapshot on a tree releases its mount.
  ASSERT_TRUE(sn->remove("ns/3/ctr"));
  ASSERT_TRUE(sn->remove("ns/4/ctr"));
  EXPECT_TRUE(images->released.empty());
  ASSERT_TRUE(sn->remove("sha256:c2"));
  EXPECT_EQ(images->released, std::vector<std::string>{"m1"});
  ASSERT_TRUE(sn->remove("sha256:c1"));
  EXPECT_EQ(images->released, (std::vector<std::string>{"m1", "chain/sha256:l1"}));
}

TEST_F(SnapshotterTest, ALazyLayerOnAnUnpackedOneHasNoTreeOfItsOwn) {
  ASSERT_TRUE(sn->prepare("base", "", {}));
  ASSERT_TRUE(sn->commit("sha256:b", "base", {}));
  ASSERT_FALSE(sn->prepare("x", "sha256:b", layer_labels("lazy/app:1", "sha256:c1", "sha256:l1,sha256:l2")));
  ASSERT_FALSE(sn->prepare("y", "sha256:c1", layer_labels("lazy/app:1", "sha256:c2", "sha256:l2")));
  auto top = sn->prepare("ctr", "sha256:c2", {});  // the image's own tree: fine
  ASSERT_TRUE(top) << top.error().what();
  auto below = sn->prepare("ctr2", "sha256:c1", {});
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().kind, Errc::unsupported);
  EXPECT_NE(below.error().what().find("lazy/app:1"), std::string::npos) << below.error().what();
}

TEST_F(SnapshotterTest, ImagesNotServedLazilyAreUnpackedAsUsual) {
  for (const char* image : {"plain/app:1", "broken/app:1"}) {
    std::string key = std::string("extract ") + image;
    auto m = sn->prepare(key, "", layer_labels(image, std::string("sha256:") + image, "sha256:l1"));
    ASSERT_TRUE(m) << image << ": " << m.error().what();
    EXPECT_EQ(sn->stat(key)->kind, Kind::active);
  }
}

TEST_F(SnapshotterTest, EverythingSurvivesARestart) {
  ASSERT_FALSE(sn->prepare("x", "", layer_labels("lazy/app:1", "sha256:c1", "sha256:l1")));
  ASSERT_TRUE(sn->prepare("ctr", "sha256:c1", {{"k", "v"}}));
  auto before = *sn->mounts("ctr");
  open();
  auto after = sn->mounts("ctr");
  ASSERT_TRUE(after) << after.error().what();
  EXPECT_EQ(*after, before);
  EXPECT_EQ(sn->stat("ctr")->labels.at("k"), "v");
  EXPECT_EQ(images->mounted, std::vector<std::string>{"m1"});  // the new instance mounts it again (or finds it mounted)
}

TEST_F(SnapshotterTest, UpdateChangesOnlyLabels) {
  ASSERT_TRUE(sn->prepare("a", "", {{"keep", "1"}, {"drop", "2"}}));
  auto u = sn->update(Snapshot{.name = "a", .labels = {{"new", "3"}}}, {"labels.new", "labels.drop"});
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->labels, (Labels{{"keep", "1"}, {"new", "3"}}));
  EXPECT_EQ(sn->stat("a")->labels, u->labels);
  auto all = sn->update(Snapshot{.name = "a", .labels = {{"only", "4"}}}, {});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->labels, (Labels{{"only", "4"}}));
  EXPECT_EQ(sn->update(Snapshot{.name = "a"}, {"parent"}).error().kind, Errc::invalid_input);
  EXPECT_EQ(sn->update(Snapshot{.name = "zz"}, {}).error().kind, Errc::not_found);
}

TEST_F(SnapshotterTest, CleanupRemovesWhatNoSnapshotOwns) {
  ASSERT_TRUE(sn->prepare("a", "", {}));
  fs::create_directories(tmp / "root/snapshots/999/fs");
  ASSERT_TRUE(sn->cleanup());
  EXPECT_FALSE(fs::exists(tmp / "root/snapshots/999"));
  EXPECT_TRUE(fs::exists(fs_dir("a")));
}

TEST_F(SnapshotterTest, ACleanupDuringAPullReleasesNothingThePullIsFetching) {
  // The image is mounted from an earlier pull whose snapshots went; a new pull resolves it again
  // (its flist written, its snapshot not yet recorded) while containerd's Cleanup runs.
  images->mounted.push_back("m1");
  bool cleaned = false;
  images->during_resolve = [&] { cleaned = sn->cleanup().has_value(); };
  ASSERT_FALSE(sn->prepare("x", "", layer_labels("lazy/app:1", "sha256:c1", "sha256:l1")));
  EXPECT_TRUE(cleaned);
  EXPECT_TRUE(images->released.empty());
  ASSERT_TRUE(sn->cleanup());  // afterwards the snapshot is recorded: its tree is kept
  EXPECT_TRUE(images->released.empty());
}

}  // namespace
}  // namespace tiffin::snapshotter
