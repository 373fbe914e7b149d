// A replica hub pulling from another over loopback (hub_sync.hpp): copies, idempotent rounds,
// routes to both, links, --delete, and an interrupted round that the next one completes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "hub/hub_server.hpp"
#include "hub/hub_sync.hpp"
#include "hub/hub_token.hpp"
#include "hub/push.hpp"
#include "store/router.hpp"
#include "hub_test_trees.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;

namespace {

std::unique_ptr<HubServer> start_hub(const std::string& root) {
  HubServeOptions o;
  o.root = root;
  return test::start_loopback_hub(o);
}

// An flist of `files` small files (one block each) plus `extra`, in a local dir store.
std::string pack_tree(const test::TempDir& dir, const std::string& name, int files, const std::string& extra) {
  std::map<std::string, std::string> tree{{"extra", extra}};
  for (int i = 0; i < files; ++i) tree["f" + std::to_string(i)] = "file " + std::to_string(i) + "\n";
  return test::pack_local_flist(dir, name, tree);
}

size_t count_blocks(const std::string& root) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root + "/blocks"))
    if (e.is_regular_file()) ++n;
  return n;
}

struct TwoHubs : ::testing::Test {
  void SetUp() override {
    a = start_hub(dir / "a");
    ASSERT_TRUE(a);
    token = issue_token(*load_hub_key(dir / "a/hub.key", false), "alice", std::chrono::seconds(300));
  }
  void push(const std::string& fl, const std::string& where) {
    auto r = push_flist(fl, *parse_hub_location(a->public_url() + "/" + where), {.token = token, .progress = false});
    ASSERT_TRUE(r) << r.error().what();
  }
  test::TempDir dir;
  std::unique_ptr<HubServer> a;
  std::string token;
  std::string b_url = "http://127.0.0.1:1";  // the replica's public URL (not served: only written)
};

}  // namespace

TEST_F(TwoHubs, CopiesFlistsBlocksAndLinksOnceAndRoutesToBoth) {
  push(pack_tree(dir, "v1", 20, "one\n"), "alice/app:v1");
  push(pack_tree(dir, "v2", 20, "two\n"), "alice/app:v2");
  auto repo_a = *HubRepository::open(dir / "a");
  ASSERT_TRUE(repo_a.link(*parse_flist_ref("alice/app:latest"), *parse_flist_ref("alice/app:v2")));

  auto first = sync_hub(a->public_url(), dir / "b", {.add_route = b_url});
  ASSERT_TRUE(first) << first.error().what();
  EXPECT_TRUE(first->failures.empty());
  EXPECT_EQ(first->flists_copied, 2u);
  EXPECT_EQ(first->links_made, 1u);
  EXPECT_EQ(first->blocks_fetched, count_blocks(dir / "a"));
  EXPECT_EQ(count_blocks(dir / "b"), count_blocks(dir / "a"));

  // The copy routes to the source and to the replica; a link points at the copy.
  Tree copy = *load_flist(dir / "b/flists/alice/app:v2.fl");
  ASSERT_EQ(copy.routes.size(), 2u);
  EXPECT_EQ(copy.routes[0].url, a->public_url());
  EXPECT_EQ(copy.routes[1].url, b_url);
  auto repo_b = *HubRepository::open(dir / "b");
  auto link = repo_b.info(*parse_flist_ref("alice/app:latest"));
  ASSERT_TRUE(link) << link.error().what();
  EXPECT_EQ(link->type, "symlink");
  EXPECT_EQ(link->target, "alice/app:v2");

  // A second round downloads nothing: the record of the source's sha256 says it is the same.
  auto second = sync_hub(a->public_url(), dir / "b", {.add_route = b_url});
  ASSERT_TRUE(second) << second.error().what();
  EXPECT_EQ(second->flists_copied, 0u);
  EXPECT_EQ(second->flists_unchanged, 2u);
  EXPECT_EQ(second->links_unchanged, 1u);
  EXPECT_EQ(second->blocks_fetched, 0u);
  EXPECT_EQ(second->flist_bytes, 0u);
}

TEST_F(TwoHubs, WithoutARouteTheCopyIsTheSameFile) {
  push(pack_tree(dir, "v1", 5, "one\n"), "alice/app:v1");
  auto r = sync_hub(a->public_url(), dir / "b", {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->flists_copied, 1u);
  auto ref = *parse_flist_ref("alice/app:v1");
  EXPECT_EQ(HubRepository::open(dir / "b")->info(ref)->sha256, HubRepository::open(dir / "a")->info(ref)->sha256);
  EXPECT_FALSE(std::filesystem::exists(dir / "b/replica/flists/alice/app:v1.json"));
  EXPECT_EQ(sync_hub(a->public_url(), dir / "b", {})->flists_unchanged, 1u);
}

TEST_F(TwoHubs, ReplacedAndDeletedFlistsFollow) {
  push(pack_tree(dir, "v1", 5, "one\n"), "alice/app:v1");
  push(pack_tree(dir, "old", 5, "old\n"), "alice/old:v1");
  ASSERT_TRUE(sync_hub(a->public_url(), dir / "b", {.add_route = b_url}));

  push(pack_tree(dir, "v1b", 5, "one, again\n"), "alice/app:v1");
  ASSERT_TRUE(HubRepository::open(dir / "a")->remove(*parse_flist_ref("alice/old:v1")));
  // Without --delete the gone flist stays; the replaced one is copied again (one new block).
  auto keep = sync_hub(a->public_url(), dir / "b", {.add_route = b_url});
  ASSERT_TRUE(keep) << keep.error().what();
  EXPECT_EQ(keep->flists_copied, 1u);
  EXPECT_EQ(keep->blocks_fetched, 1u);
  EXPECT_EQ(keep->flists_removed, 0u);
  EXPECT_TRUE(std::filesystem::exists(dir / "b/flists/alice/old:v1.fl"));

  auto del = sync_hub(a->public_url(), dir / "b", {.add_route = b_url, .delete_gone = true});
  ASSERT_TRUE(del) << del.error().what();
  EXPECT_EQ(del->flists_removed, 1u);
  EXPECT_EQ(del->flists_unchanged, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir / "b/flists/alice/old:v1.fl"));
}

TEST_F(TwoHubs, ARoundCutShortLeavesNoFlistAndTheNextCompletesIt) {
  push(pack_tree(dir, "v1", 30, "one\n"), "alice/app:v1");
  // The source loses some blocks (a broken disk): the flist cannot be copied whole.
  std::vector<std::filesystem::path> moved;
  size_t i = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "a/blocks"))
    if (e.is_regular_file() && i++ % 3 == 0) moved.push_back(e.path());
  for (const auto& p : moved) std::filesystem::rename(p, p.string() + ".away");

  auto cut = sync_hub(a->public_url(), dir / "b", {});
  ASSERT_TRUE(cut) << cut.error().what();
  ASSERT_EQ(cut->failures.size(), 1u);
  EXPECT_EQ(cut->flists_copied, 0u);
  EXPECT_GT(cut->blocks_fetched, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir / "b/flists/alice/app:v1.fl"));  // never without its blocks

  for (const auto& p : moved) std::filesystem::rename(p.string() + ".away", p);
  auto next = sync_hub(a->public_url(), dir / "b", {});
  ASSERT_TRUE(next) << next.error().what();
  EXPECT_TRUE(next->failures.empty());
  EXPECT_EQ(next->flists_copied, 1u);
  EXPECT_EQ(next->blocks_fetched, moved.size());  // only those still missing
  EXPECT_EQ(count_blocks(dir / "b"), count_blocks(dir / "a"));
}

TEST_F(TwoHubs, RefusesNonsense) {
  EXPECT_EQ(sync_hub("ftp://x", dir / "b", {}).error().kind, Errc::invalid_input);
  EXPECT_EQ(sync_hub(a->public_url(), dir / "b", {.add_route = a->public_url() + "/"}).error().kind, Errc::invalid_input);
  auto down = sync_hub("http://127.0.0.1:1", dir / "b", {});
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().kind, Errc::unavailable);
}

TEST_F(TwoHubs, ASignedFlistIsCopiedUnchanged) {
  push(pack_tree(dir, "v1", 5, "one\n"), "alice/app:v1");
  auto key = generate_key(dir / "signing.key");
  ASSERT_TRUE(key) << key.error().what();
  ASSERT_TRUE(add_signature(dir / "a/flists/alice/app:v1.fl", *key));  // signed on the hub, routes and all
  auto r = sync_hub(a->public_url(), dir / "b", {.add_route = b_url});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->flists_copied, 1u);
  auto ref = *parse_flist_ref("alice/app:v1");
  EXPECT_EQ(HubRepository::open(dir / "b")->info(ref)->sha256, HubRepository::open(dir / "a")->info(ref)->sha256);
  EXPECT_EQ(load_flist(dir / "b/flists/alice/app:v1.fl")->routes.size(), 1u);
}
