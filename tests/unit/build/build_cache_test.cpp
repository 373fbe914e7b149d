#include "build/build_cache.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "test_support.hpp"

namespace tiffin::build {
namespace {

Tree layer_of(uint64_t bytes) {
  Tree t;
  Node f;
  f.name = "f";
  f.mode = S_IFREG | 0644;
  f.size = bytes;
  f.blocks.resize(block_count(bytes));
  t.put(Tree::kRoot, std::move(f));
  return t;
}

Hash key(uint8_t n) {
  Hash h{};
  h[0] = n;
  return h;
}

TEST(BuildCache, StoresFindsAndCountsLayers) {
  test::TempDir dir;
  auto cache = BuildCache::open(dir / "cache");
  ASSERT_TRUE(cache) << cache.error().message;
  EXPECT_FALSE(*cache->get(key(1)));
  ASSERT_TRUE(cache->put(key(1), layer_of(1000)));
  ASSERT_TRUE(cache->put(key(2), layer_of(5000)));
  auto got = cache->get(key(1));
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->nodes[*(*got)->find("/f")].size, 1000u);
  auto u = *cache->usage();
  EXPECT_EQ(u.entries, 2u);
  EXPECT_EQ(u.content_bytes, 6000u);
  EXPECT_GT(u.file_bytes, 0u);
  // A second handle (another build) sees the same entries.
  EXPECT_TRUE(*BuildCache::open(dir / "cache")->get(key(2)));
}

TEST(BuildCache, ALostFileIsAMissAndItsEntryGoes) {
  test::TempDir dir;
  auto cache = *BuildCache::open(dir / "cache");
  ASSERT_TRUE(cache.put(key(7), layer_of(10)));
  ::unlink((cache.dir() + "/" + to_hex(key(7)) + ".fl").c_str());
  EXPECT_FALSE(*cache.get(key(7)));
  EXPECT_EQ(cache.usage()->entries, 0u);
}

TEST(BuildCache, PruneKeepsTheMostRecentlyUsedUnderTheBound) {
  test::TempDir dir;
  auto cache = *BuildCache::open(dir / "cache");
  for (uint8_t i = 1; i <= 3; ++i) ASSERT_TRUE(cache.put(key(i), layer_of(1000)));
  // Nothing is old enough to go.
  EXPECT_EQ(cache.prune({3600, 0})->entries, 0u);
  auto removed = cache.prune({0, 2000});
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->entries, 1u);
  EXPECT_EQ(removed->content_bytes, 1000u);
  EXPECT_EQ(cache.usage()->content_bytes, 2000u);
  EXPECT_EQ(cache.prune({})->entries, 2u);  // no bound: everything
  EXPECT_EQ(cache.usage()->entries, 0u);
  EXPECT_FALSE(*cache.get(key(3)));
}

}  // namespace
}  // namespace tiffin::build

namespace tiffin::build {
namespace {

// Parallel stages use the cache from several connections at once: no "database is locked".
TEST(BuildCache, ConnectionsOnThreadsDoNotLockEachOtherOut) {
  test::TempDir dir;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> failures;
  auto failed = [&](const std::string& what, const Error& e) {
    std::lock_guard lock(mu);
    failures.push_back(what + ": " + e.message);
  };
  for (uint8_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto cache = BuildCache::open(dir / "cache");
      if (!cache) return failed("open", cache.error());
      for (uint8_t i = 0; i < 50; ++i) {
        Hash k{};
        k[0] = t;
        k[1] = i;
        if (auto r = cache->put(k, layer_of(i)); !r) failed("put", r.error());
        if (auto got = cache->get(k); !got) failed("get", got.error());
        else if (!*got) failed("get", Error{Errc::not_found, 0, "a miss"});
        Hash other = k;
        other[0] = static_cast<uint8_t>((t + 1) % 4);
        if (auto r = cache->get(other); !r) failed("get", r.error());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, the first: " << (failures.empty() ? "" : failures.front());
  EXPECT_EQ(BuildCache::open(dir / "cache")->usage()->entries, 200u);
}

}  // namespace
}  // namespace tiffin::build

namespace tiffin::build {
namespace {

TEST(BuildCache, WholeBuildShortcutsUntilAPrune) {
  test::TempDir dir;
  auto cache = *BuildCache::open(dir / "cache");
  EXPECT_FALSE(*cache.image_for(key(9)));
  ASSERT_TRUE(cache.put_image(key(9), "abc"));
  EXPECT_EQ(*cache.image_for(key(9)), "abc");
  ASSERT_TRUE(cache.put_image(key(9), "def"));  // a later build of the same key
  EXPECT_EQ(*cache.image_for(key(9)), "def");
  ASSERT_TRUE(cache.prune({3600, 0}));  // even a prune that removes no layer
  EXPECT_FALSE(*cache.image_for(key(9)));
}

}  // namespace
}  // namespace tiffin::build
