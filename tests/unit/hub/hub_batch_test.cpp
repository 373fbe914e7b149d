// POST /api/blocks/batch: the route driven without sockets, then end to end through a hub on
// 127.0.0.1 with HttpStore::get_many and BlockFetcher::fetch_many.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "hub/hub_api.hpp"
#include "hub/hub_server.hpp"
#include "store/block_batch.hpp"
#include "store/block_codec.hpp"
#include "store/block_fetcher.hpp"
#include "store/http_store.hpp"
#include "store/router.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;
using json = nlohmann::json;

namespace {

std::vector<EncodedBlock> make_blocks(size_t n, size_t size, uint32_t seed) {
  std::vector<EncodedBlock> out;
  for (size_t i = 0; i < n; ++i) out.push_back(encode_block(test::random_bytes(size, seed + i)));
  return out;
}

std::string ids_json(const std::vector<Hash>& ids) {
  json j = json::array();
  for (const Hash& h : ids) j.push_back(to_hex(h));
  return j.dump();
}

Result<std::vector<BatchFrame>> read_frames(const HubResponse& r) {
  std::vector<BatchFrame> frames;
  BatchDecoder d;
  if (!r.stream) return fail(Errc::internal, "not streamed");
  TRY(r.stream([&](std::span<const uint8_t> data) {
    return d.feed(data, [&](BatchFrame&& f) -> Result<void> {
      frames.push_back(std::move(f));
      return {};
    });
  }));
  if (!d.at_boundary()) return fail(Errc::corrupt, "cut short");
  return frames;
}

class HubBatchApi : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = std::make_unique<HubRepository>(*HubRepository::open(dir_ / "hub"));
    api_ = std::make_unique<HubApi>(*repo_, *load_hub_key(dir_ / "hub.key", true), "http://hub.test");
    blocks_ = make_blocks(3, 10000, 1);
    for (const auto& b : blocks_) ASSERT_TRUE(repo_->put_block(b.id, b.sealed));
  }
  HubResponse post(std::string body) {
    HubRequest req{"POST", "/api/blocks/batch"};
    req.body = std::move(body);
    return api_->handle(req);
  }
  test::TempDir dir_;
  std::unique_ptr<HubRepository> repo_;
  std::unique_ptr<HubApi> api_;
  std::vector<EncodedBlock> blocks_;
};

}  // namespace

TEST_F(HubBatchApi, AnswersInRequestOrderAndMarksMissing) {
  Hash absent = blake2b256(Bytes{1, 2, 3});
  std::vector<Hash> ids{blocks_[2].id, absent, blocks_[0].id, blocks_[2].id, blocks_[1].id};
  for (std::string body : {ids_json(ids), json{{"ids", json::parse(ids_json(ids))}}.dump()}) {
    HubResponse r = post(body);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.content_type, kBatchContentType);
    auto frames = read_frames(r);
    ASSERT_TRUE(frames) << frames.error().what();
    ASSERT_EQ(frames->size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ((*frames)[i].id, ids[i]) << i;
    EXPECT_EQ((*frames)[0].sealed, blocks_[2].sealed);
    EXPECT_EQ((*frames)[1].status, BatchStatus::missing);
    EXPECT_TRUE((*frames)[1].sealed.empty());
    EXPECT_EQ((*frames)[2].sealed, blocks_[0].sealed);
    EXPECT_EQ((*frames)[3].sealed, blocks_[2].sealed);
    EXPECT_EQ((*frames)[4].sealed, blocks_[1].sealed);
  }
  auto empty = read_frames(post("[]"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST_F(HubBatchApi, RefusesMalformedRequests) {
  EXPECT_EQ(post("not json").status, 400u);
  EXPECT_EQ(post(R"({"id": []})").status, 400u);
  EXPECT_EQ(post(R"(["abc"])").status, 400u);
  EXPECT_EQ(post("[1]").status, 400u);
  EXPECT_EQ(post(R"([")" + std::string(64, 'g') + R"("])").status, 400u);
  std::vector<Hash> many(kBatchMaxIds, blocks_[0].id);
  EXPECT_EQ(post(ids_json(many)).status, 200u);
  many.push_back(blocks_[0].id);
  EXPECT_EQ(post(ids_json(many)).status, 400u);
  HubRequest get{"GET", "/api/blocks/batch"};
  EXPECT_EQ(api_->handle(get).status, 404u);
}

namespace {

struct HubFixture {
  test::TempDir dir;
  std::unique_ptr<HubServer> server;
  std::shared_ptr<DirStore> blocks;  // the hub's own block directory
  explicit HubFixture(std::string listen = "127.0.0.1:0") {
    HubServeOptions o;
    o.root = dir / "hub";
    o.listen = std::move(listen);
    auto s = HubServer::start(o);
    EXPECT_TRUE(s) << s.error().what();
    if (s) server = std::move(*s);
    blocks = *DirStore::open(dir / "hub/blocks", true);
  }
};

HttpOptions quick() {
  HttpOptions o;
  o.connect_timeout = std::chrono::milliseconds(500);
  o.request_timeout = std::chrono::milliseconds(5000);
  o.attempts = 2;
  o.backoff = std::chrono::milliseconds(10);
  return o;
}

std::vector<BlockRef> refs_of(const std::vector<EncodedBlock>& blocks) {
  std::vector<BlockRef> refs;
  for (const auto& b : blocks) refs.push_back({b.id, b.key});
  return refs;
}

}  // namespace

TEST(HubBatch, CorruptBlockInTheMiddleFailsOnlyItself) {
  HubFixture hub;
  ASSERT_TRUE(hub.server);
  auto blocks = make_blocks(9, 100000, 10);
  for (const auto& b : blocks) ASSERT_TRUE(hub.blocks->put(b.id, b.sealed));
  // Block 4 rots on the hub's disk: same length, one byte flipped.
  {
    Bytes rotten = blocks[4].sealed;
    rotten[rotten.size() / 2] ^= 0x40;
    test::write_text(hub.blocks->block_path(blocks[4].id), std::string(rotten.begin(), rotten.end()));
  }
  std::vector<BlockRef> refs = refs_of(blocks);
  Hash absent = blake2b256(Bytes{9});
  refs.insert(refs.begin() + 6, BlockRef{absent, absent});

  auto store = std::make_shared<HttpStore>(hub.server->public_url(), hub.server->public_url(), quick());
  std::shared_ptr<BlockCache> cache = *BlockCache::open({hub.dir / "cache"});
  BlockFetcher fetcher(store, cache);
  for (unsigned threads : {0u, 2u}) {
    std::vector<std::optional<Result<Bytes>>> got(refs.size());
    fetcher.fetch_many(refs,
        [&](size_t i, Result<Bytes> r) {
          ASSERT_LT(i, got.size());
          ASSERT_FALSE(got[i]) << "index " << i << " answered twice";
          got[i] = std::move(r);
        },
        {.chunk = 4, .decode_threads = threads});
    EXPECT_FALSE(store->batch_unsupported());
    for (size_t i = 0; i < refs.size(); ++i) {
      ASSERT_TRUE(got[i]) << i;
      if (i == 4) {
        ASSERT_FALSE(*got[i]);
        EXPECT_EQ(got[i]->error().kind, Errc::corrupt);
      } else if (i == 6) {
        ASSERT_FALSE(*got[i]);
        EXPECT_EQ(got[i]->error().kind, Errc::not_found);
      } else {
        ASSERT_TRUE(*got[i]) << i << ": " << got[i]->error().what();
        EXPECT_EQ(blake2b256(**got[i]), refs[i].key) << i;
      }
    }
    auto cached = cache->get(blocks[4].id);
    ASSERT_TRUE(cached);
    EXPECT_FALSE(*cached) << "a corrupt block was cached";
    ASSERT_TRUE(*cache->get(blocks[0].id));
  }
  // The second round came from the cache (all but the corrupt and the missing one).
  EXPECT_EQ(fetcher.stats().misses, 8u);
  EXPECT_EQ(fetcher.stats().hits, 8u);
}

TEST(HubBatch, ABodyCutShortMarksTheRestUnavailable) {
  HubFixture hub;
  ASSERT_TRUE(hub.server);
  auto blocks = make_blocks(6, 2000, 20);
  for (const auto& b : blocks) ASSERT_TRUE(hub.blocks->put(b.id, b.sealed));
  // Block 3 cannot be read (a directory where its file was): the hub has sent 200 and frames
  // 0-2 already, so it cuts the connection.
  std::string path = hub.blocks->block_path(blocks[3].id);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  HttpStore store(hub.server->public_url(), hub.server->public_url(), quick());
  std::vector<Hash> ids;
  for (const auto& b : blocks) ids.push_back(b.id);
  std::vector<std::optional<Result<Bytes>>> got(ids.size());
  store.get_many(ids, [&](size_t i, Result<Bytes> r) { got[i] = std::move(r); });
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(got[i]) << i;
    if (i < 3) {
      EXPECT_TRUE(*got[i]) << i;
    } else {
      ASSERT_FALSE(*got[i]) << i;
      EXPECT_EQ(got[i]->error().kind, Errc::unavailable) << i;
    }
  }
  EXPECT_FALSE(store.batch_unsupported());
}

TEST(HubBatch, TransportFailureMarksTheRestUnavailable) {
  uint16_t port = test::free_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  HttpStore store(url, url, quick());
  std::vector<Hash> ids{blake2b256(Bytes{1}), blake2b256(Bytes{2})};
  std::vector<Errc> kinds(2, Errc::internal);
  store.get_many(ids, [&](size_t i, Result<Bytes> r) {
    ASSERT_FALSE(r);
    kinds[i] = r.error().kind;
  });
  EXPECT_EQ(kinds, std::vector<Errc>(2, Errc::unavailable));
}

TEST(HubBatch, FallsBackToSingleGetsWithoutTheEndpoint) {
  test::TempDir dir;
  auto local = *DirStore::open(dir / "plain", true);
  auto blocks = make_blocks(20, 3000, 40);
  for (const auto& b : blocks) ASSERT_TRUE(local->put(b.id, b.sealed));
  uint16_t port = test::free_port();
  auto server = test::Process::spawn(
      {"/usr/bin/python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1", "--directory", dir / "plain"});
  ASSERT_TRUE(test::wait_for_port(port));
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto store = std::make_shared<HttpStore>(url, url, quick());
  std::vector<Hash> ids;
  for (const auto& b : blocks) ids.push_back(b.id);
  ids.insert(ids.begin() + 3, blake2b256(Bytes{7}));
  std::vector<std::optional<Result<Bytes>>> got(ids.size());
  store->get_many(ids, [&](size_t i, Result<Bytes> r) { got[i] = std::move(r); });
  EXPECT_TRUE(store->batch_unsupported());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(got[i]) << i;
    if (i == 3) {
      ASSERT_FALSE(*got[i]);
      EXPECT_EQ(got[i]->error().kind, Errc::not_found);
    } else {
      ASSERT_TRUE(*got[i]) << got[i]->error().what();
      EXPECT_EQ(**got[i], blocks[i < 3 ? i : i - 1].sealed);
    }
  }
  // Through a fetcher too, now straight to single GETs.
  BlockFetcher fetcher(store, nullptr);
  size_t good = 0;
  fetcher.fetch_many(refs_of(blocks), [&](size_t, Result<Bytes> r) { good += r.has_value(); });
  EXPECT_EQ(good, blocks.size());
}

TEST(HubBatch, RouterFallsBackToReplicasPerBlock) {
  test::TempDir dir;
  auto a = std::shared_ptr<DirStore>(*DirStore::open(dir / "a", true));
  auto b = std::shared_ptr<DirStore>(*DirStore::open(dir / "b", true));
  auto blocks = make_blocks(6, 1000, 70);
  for (size_t i = 0; i < blocks.size(); ++i) ASSERT_TRUE((i % 2 ? a : b)->put(blocks[i].id, blocks[i].sealed));
  Router router({{0, 0xff, a}, {0, 0xff, b}});
  std::vector<Hash> ids;
  for (const auto& blk : blocks) ids.push_back(blk.id);
  ids.push_back(blake2b256(Bytes{5}));
  std::vector<std::optional<Result<Bytes>>> got(ids.size());
  router.get_many(ids, [&](size_t i, Result<Bytes> r) {
    ASSERT_FALSE(got[i]) << "twice: " << i;
    got[i] = std::move(r);
  });
  for (size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_TRUE(got[i] && *got[i]) << i;
    EXPECT_EQ(**got[i], blocks[i].sealed);
  }
  ASSERT_TRUE(got.back());
  ASSERT_FALSE(*got.back());
  EXPECT_EQ(got.back()->error().kind, Errc::not_found);
}

TEST(HubBatch, RouterTriesADeadReplicaLastForAWhile) {
  // A replica whose transport fails, counting how often it is asked.
  struct Dead final : BlockStore {
    std::atomic<int> gets{0};
    Result<Bytes> get(const Hash&) override {
      ++gets;
      return fail(Errc::unavailable, "connection refused");
    }
    Result<void> put(const Hash&, std::span<const uint8_t>) override { return fail(Errc::unavailable, "down"); }
    Result<bool> has(const Hash&) override { return fail(Errc::unavailable, "down"); }
    std::string url() const override { return "dead"; }
  };
  test::TempDir dir;
  auto live = std::shared_ptr<DirStore>(*DirStore::open(dir / "a", true));
  auto dead = std::make_shared<Dead>();
  auto blocks = make_blocks(40, 100, 71);
  for (const auto& blk : blocks) ASSERT_TRUE(live->put(blk.id, blk.sealed));
  Router router({{0, 0xff, dead}, {0, 0xff, live}});
  for (const auto& blk : blocks) {
    auto got = router.get(blk.id);
    ASSERT_TRUE(got) << got.error().what();
    EXPECT_EQ(*got, blk.sealed);
  }
  EXPECT_EQ(dead->gets, 1) << "after its first failure the dead replica is tried last, so not at all";
  std::vector<Hash> ids;
  for (const auto& blk : blocks) ids.push_back(blk.id);
  size_t good = 0;
  router.get_many(ids, [&](size_t, Result<Bytes> r) { good += r.has_value(); });
  EXPECT_EQ(good, ids.size());
  EXPECT_EQ(dead->gets, 1) << "nor by a batch";
}

TEST(HubBatch, FetchManyKeepsSingleFlightAndDuplicates) {
  // A store that holds its first get until released, so a fetch() is in flight meanwhile.
  struct Gate final : BlockStore {
    std::shared_ptr<DirStore> inner;
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    std::atomic<int> gets{0};
    Result<Bytes> get(const Hash& id) override {
      ++gets;
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return open; });
      return inner->get(id);
    }
    Result<void> put(const Hash& id, std::span<const uint8_t> s) override { return inner->put(id, s); }
    Result<bool> has(const Hash& id) override { return inner->has(id); }
    std::string url() const override { return "gate"; }
  };
  test::TempDir dir;
  auto gate = std::make_shared<Gate>();
  gate->inner = std::shared_ptr<DirStore>(*DirStore::open(dir / "s", true));
  auto blocks = make_blocks(3, 5000, 90);
  for (const auto& b : blocks) ASSERT_TRUE(gate->put(b.id, b.sealed));
  BlockFetcher fetcher(gate, nullptr);
  std::thread single([&] { EXPECT_TRUE(fetcher.fetch(blocks[0].id, blocks[0].key)); });
  while (gate->gets < 1) std::this_thread::yield();
  std::vector<BlockRef> refs = refs_of(blocks);
  refs.push_back(refs[1]);  // a duplicate is fetched once and answered twice
  std::vector<int> answers(refs.size());
  std::thread many([&] {
    fetcher.fetch_many(refs, [&](size_t i, Result<Bytes> r) {
      EXPECT_TRUE(r) << i;
      ++answers[i];
    });
  });
  // fetch_many follows block 0's flight and leads 1 and 2: its first get is held too.
  while (gate->gets < 2) std::this_thread::yield();
  {
    std::lock_guard lock(gate->mu);
    gate->open = true;
  }
  gate->cv.notify_all();
  single.join();
  many.join();
  EXPECT_EQ(answers, std::vector<int>(refs.size(), 1));
  EXPECT_EQ(gate->gets, 3) << "block 0 was downloaded twice";
}

TEST(HubBatch, ConcurrentFetchesAndBatchesAgree) {
  HubFixture hub;
  ASSERT_TRUE(hub.server);
  auto blocks = make_blocks(40, 20000, 200);
  for (const auto& b : blocks) ASSERT_TRUE(hub.blocks->put(b.id, b.sealed));
  auto store = std::make_shared<HttpStore>(hub.server->public_url(), hub.server->public_url(), quick());
  std::shared_ptr<BlockCache> cache = *BlockCache::open({hub.dir / "cache"});
  BlockFetcher fetcher(store, cache);
  std::vector<BlockRef> refs = refs_of(blocks);
  std::atomic<size_t> good{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      // Overlapping windows, and single fetches in between.
      std::span<const BlockRef> window = std::span(refs).subspan(t * 5, 20);
      fetcher.fetch_many(window, [&](size_t i, Result<Bytes> r) { (r && blake2b256(*r) == window[i].key ? good : bad)++; });
      for (size_t i = t; i < refs.size(); i += 4) {
        auto r = fetcher.fetch(refs[i].id, refs[i].key);
        (r ? good : bad)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(good, 4 * 20 + refs.size());
  // Each block was downloaded once at most: every fetch was a hit, a download or a wait.
  EXPECT_LE(fetcher.stats().misses, refs.size());
}

// Cold reads through a hub on loopback, batched vs one by one. Not run by default:
//   TIFFIN_BATCH_MIB=256 tiffin_unit_tests --gtest_also_run_disabled_tests --gtest_filter='*BatchThroughput*'
// TIFFIN_BATCH_NO_CACHE=1 leaves the node cache out; TIFFIN_BATCH_HUB=127.0.0.1:PORT fixes the
// hub's address and TIFFIN_BATCH_VIA=http://127.0.0.1:PORT2 reads through something in between
// (a latency-adding proxy, as loopback has next to none).
TEST(HubBatch, DISABLED_BatchThroughput) {
  const char* listen = std::getenv("TIFFIN_BATCH_HUB");
  HubFixture hub(listen && *listen ? listen : "127.0.0.1:0");
  ASSERT_TRUE(hub.server);
  const char* via = std::getenv("TIFFIN_BATCH_VIA");
  std::string url = via && *via ? via : hub.server->public_url();
  size_t mib = 64;
  if (const char* e = std::getenv("TIFFIN_BATCH_MIB")) mib = std::max(1, std::atoi(e));
  size_t n = mib * 2;  // 512 KiB blocks
  std::vector<BlockRef> refs;
  Bytes plain = test::random_bytes(kBlockSize, 1);
  for (size_t i = 0; i < n; ++i) {
    // Half random, half text-like: a compressible mix, each block distinct.
    for (size_t k = 0; k < 8; ++k) plain[k] = static_cast<uint8_t>(i >> (8 * k));
    std::fill(plain.begin() + kBlockSize / 2, plain.end(), static_cast<uint8_t>('a' + i % 26));
    EncodedBlock b = encode_block(plain);
    ASSERT_TRUE(hub.blocks->put(b.id, b.sealed));
    refs.push_back({b.id, b.key});
  }
  const char* no_cache = std::getenv("TIFFIN_BATCH_NO_CACHE");
  bool use_cache = !no_cache || !*no_cache;
  std::printf("%s node cache\n", use_cache ? "with a" : "without a");
  auto run = [&](const std::string& name, auto read) {
    test::TempDir cache_dir;
    auto store = std::make_shared<HttpStore>(url, url, quick());
    std::shared_ptr<BlockCache> cache;
    if (use_cache) cache = *BlockCache::open({cache_dir / "c", uint64_t(4) << 30});
    BlockFetcher fetcher(store, cache);
    auto t0 = std::chrono::steady_clock::now();
    size_t bytes = read(fetcher);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(bytes, n * kBlockSize);
    std::printf("%-32s %zu MiB in %.2f s: %.1f MiB/s\n", name.c_str(), mib, s, bytes / s / (1 << 20));
  };
  // The transport alone (sealed bytes), and with verification but no fetcher.
  auto raw = [&](const std::string& name, auto read) {
    HttpStore store(url, url, quick());
    auto t0 = std::chrono::steady_clock::now();
    size_t bytes = read(store);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%-32s %zu MiB in %.2f s: %.1f MiB/s\n", name.c_str(), bytes >> 20, s, bytes / s / (1 << 20));
  };
  // Rounds alternate the variants: the machine is shared, so compare the best of each.
  for (int round = 0; round < 3; ++round) {
    raw("store get one by one", [&](HttpStore& st) {
      size_t bytes = 0;
      for (const auto& r : refs) bytes += st.get(r.id)->size();
      return bytes;
    });
    raw("store get_many", [&](HttpStore& st) {
      std::vector<Hash> ids;
      for (const auto& r : refs) ids.push_back(r.id);
      size_t bytes = 0;
      st.get_many(ids, [&](size_t, Result<Bytes> r) { bytes += r ? r->size() : 0; });
      return bytes;
    });
    raw("store get_many + decode", [&](HttpStore& st) {
      std::vector<Hash> ids;
      for (const auto& r : refs) ids.push_back(r.id);
      size_t bytes = 0;
      st.get_many(ids, [&](size_t i, Result<Bytes> r) { bytes += r ? decode_block(refs[i].id, refs[i].key, *r)->size() : 0; });
      return bytes;
    });
    run("fetch one by one", [&](BlockFetcher& f) {
      size_t bytes = 0;
      for (const auto& r : refs) bytes += f.fetch(r.id, r.key)->size();
      return bytes;
    });
    for (unsigned threads : {0u, 1u, 2u}) {
      run("fetch_many, decode threads " + std::to_string(threads), [&](BlockFetcher& f) {
        size_t bytes = 0;
        f.fetch_many(refs, [&](size_t, Result<Bytes> r) { bytes += r ? r->size() : 0; }, {.decode_threads = threads});
        return bytes;
      });
    }
  }
}
