#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "store/block_cache.hpp"
#include "store/block_codec.hpp"
#include "store/block_fetcher.hpp"
#include "store/dir_store.hpp"
#include "test_support.hpp"

using namespace tiffin;

namespace {
size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().size() == 64) ++n;
  return n;
}
}  // namespace

TEST(BlockCache, InsertGetAndPersistAcrossReopen) {
  test::TempDir dir;
  Bytes plain = test::random_bytes(1000, 1);
  Hash id = encode_block(plain).id;
  {
    auto c = BlockCache::open({dir / "cache", 1 << 20});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_FALSE(*(*c)->get(id));
    ASSERT_TRUE((*c)->insert(id, plain));
    EXPECT_EQ(**(*c)->get(id), plain);
    EXPECT_EQ((*c)->size_bytes(), 1000u);
  }
  auto again = BlockCache::open({dir / "cache", 1 << 20});
  ASSERT_TRUE(again);
  EXPECT_EQ(**(*again)->get(id), plain);
  EXPECT_EQ((*again)->size_bytes(), 1000u);
  for (auto& e : std::filesystem::recursive_directory_iterator(dir / "cache"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "no partial blocks left";
}

TEST(BlockCache, EvictsLeastRecentlyUsedBeyondItsBound) {
  test::TempDir dir;
  auto c = *BlockCache::open({dir / "cache", 10 * 1000, std::chrono::milliseconds(0)});
  std::vector<Hash> ids;
  for (uint32_t i = 0; i < 10; ++i) {
    Bytes b = test::random_bytes(1000, i);
    ids.push_back(encode_block(b).id);
    ASSERT_TRUE(c->insert(ids.back(), b));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(c->size_bytes(), 10000u);
  ASSERT_TRUE(*c->get(ids[0]));  // the oldest insert is now the most recently used
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  Bytes extra = test::random_bytes(3000, 99);
  ASSERT_TRUE(c->insert(encode_block(extra).id, extra));
  // 13000 bytes > 10000: evicted down to 90% (9000) by dropping the four least recently used.
  EXPECT_EQ(c->size_bytes(), 9000u);
  EXPECT_EQ(files_in(dir / "cache"), 7u);
  EXPECT_TRUE(*c->get(ids[0])) << "recently read: kept";
  for (int i = 1; i <= 4; ++i) EXPECT_FALSE(*c->get(ids[i])) << i;
  for (int i = 5; i < 10; ++i) EXPECT_TRUE(*c->get(ids[i])) << i;
}

TEST(BlockCache, SharedByProcesses) {
  test::TempDir dir;
  auto parent = *BlockCache::open({dir / "cache", 1 << 20});
  pid_t pid = ::fork();
  if (pid == 0) {
    auto child = BlockCache::open({dir / "cache", 1 << 20});
    bool ok = child.has_value();
    for (uint32_t i = 0; ok && i < 50; ++i) {
      Bytes b = test::random_bytes(100, 1000 + i);
      ok = (*child)->insert(encode_block(b).id, b).has_value();
    }
    _exit(ok ? 0 : 1);
  }
  for (uint32_t i = 0; i < 50; ++i) {
    Bytes b = test::random_bytes(100, i);
    ASSERT_TRUE(parent->insert(encode_block(b).id, b));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(parent->size_bytes(), 100u * 100u) << "one index, one total for both processes";
  Bytes childs = test::random_bytes(100, 1000);
  EXPECT_TRUE(*parent->get(encode_block(childs).id));
}

TEST(BlockFetcher, VerifiesCachesAndServesFromCacheWhenStoresAreGone) {
  test::TempDir dir;
  auto store = *DirStore::open(dir / "store", true);
  auto cache = std::shared_ptr<BlockCache>(*BlockCache::open({dir / "cache", 1 << 20}));
  Bytes plain = test::random_bytes(5000, 3);
  EncodedBlock b = encode_block(plain);
  ASSERT_TRUE(store->put(b.id, b.sealed));
  BlockFetcher f(store, cache);
  EXPECT_EQ(*f.fetch(b.id, b.key), plain);
  std::filesystem::remove_all(dir / "store");
  EXPECT_EQ(*f.fetch(b.id, b.key), plain) << "served from the cache";
  EXPECT_EQ(f.stats().hits, 1u);
  EXPECT_EQ(f.stats().misses, 1u);
}

TEST(BlockFetcher, CorruptBlocksAreRefusedAndNeverCached) {
  test::TempDir dir;
  auto store = *DirStore::open(dir / "store", true);
  auto cache = std::shared_ptr<BlockCache>(*BlockCache::open({dir / "cache", 1 << 20}));
  EncodedBlock b = encode_block(test::random_bytes(5000, 4));
  Bytes bad = b.sealed;
  bad[100] ^= 1;
  ASSERT_TRUE(store->put(b.id, bad));
  BlockFetcher f(store, cache);
  auto r = f.fetch(b.id, b.key);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::corrupt);
  EXPECT_FALSE(*cache->get(b.id));
}

namespace {
// Counts gets and answers slowly, so that concurrent fetches overlap.
class SlowCountingStore final : public BlockStore {
 public:
  explicit SlowCountingStore(StorePtr inner) : inner_(std::move(inner)) {}
  Result<Bytes> get(const Hash& id) override {
    ++gets;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return inner_->get(id);
  }
  Result<void> put(const Hash& id, std::span<const uint8_t> b) override { return inner_->put(id, b); }
  Result<bool> has(const Hash& id) override { return inner_->has(id); }
  std::string url() const override { return inner_->url(); }
  std::atomic<int> gets{0};

 private:
  StorePtr inner_;
};
}  // namespace

TEST(BlockFetcher, ConcurrentFetchesShareOneDownload) {
  test::TempDir dir;
  auto inner = *DirStore::open(dir / "store", true);
  EncodedBlock b = encode_block(test::random_bytes(kBlockSize, 5));
  ASSERT_TRUE(inner->put(b.id, b.sealed));
  auto store = std::make_shared<SlowCountingStore>(inner);
  BlockFetcher f(store, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { ok += f.fetch(b.id, b.key).has_value(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(store->gets, 1) << "eight readers, one download";
}
