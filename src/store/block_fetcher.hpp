// Plain block content by (id, key): from the node's cache when it is there, else from the
// stores, verified (id and GCM tag: block_codec.hpp) and then cached. A block that fails verification is an
// error and is never cached. Concurrent fetches of one block share a single download.
// fetch_many does the same for many blocks with few round trips (BlockStore::get_many).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>

#include "store/block_cache.hpp"
#include "store/block_ref.hpp"
#include "store/block_store.hpp"

namespace tiffin {

struct FetchStats {
  uint64_t hits = 0, misses = 0;
};

// Receives one block of a fetch_many: its index among the refs, and its plain content or error.
using PlainSink = std::function<void(size_t index, Result<Bytes> plain)>;

struct FetchManyOptions {
  size_t chunk = 64;  // ids per store get_many (one hub request each)
  // Threads that verify, decode and cache blocks while the transfer goes on; 0: the thread that
  // receives a block does it, holding up the transfer meanwhile. Two were the fastest measured
  // with latency (hub_batch_test's BatchThroughput, 256 MiB cold with the node cache, 4 ms RTT,
  // 2 cores: 0 → 157-210, 2 → 202-229 MiB/s, one fetch() per block 56-67); on bare loopback
  // verification bounds all alike (~330 MiB/s without the cache, 0 threads ahead by ~5%).
  unsigned decode_threads = 2;
};

class BlockFetcher {
 public:
  // `cache` may be null (no caching). A fetch that finds its block in flight waits at most
  // `follow_timeout` (0: as long as it takes) for that download, often part of a batch, before it
  // downloads the block itself: a read is not held up behind a slow batch.
  BlockFetcher(StorePtr store, std::shared_ptr<BlockCache> cache, std::chrono::milliseconds follow_timeout = {})
      : store_(std::move(store)), cache_(std::move(cache)), follow_timeout_(follow_timeout) {}

  Result<Bytes> fetch(const Hash& id, const Hash& key);
  // Every ref's content, handed to `on_block` as it is ready: exactly once per index, in any
  // order, never two calls at once (possibly from another thread), all before this returns.
  // Cache hits come first; the misses go to the stores in chunks, and each block is verified
  // on its own as it arrives, so a corrupt block fails only its index (and is not cached).
  // A block another fetch is already downloading is waited for, not downloaded again.
  void fetch_many(std::span<const BlockRef> refs, const PlainSink& on_block, const FetchManyOptions& opts = {});
  FetchStats stats();

 private:
  struct Flight {
    bool done = false;
    std::optional<Result<Bytes>> result;
  };
  Result<Bytes> fetch_uncached(const Hash& id, const Hash& key);
  std::optional<Bytes> cached(const Hash& id, const Hash& key);
  // Records a led flight's outcome and wakes whoever waits for it.
  void land(const Hash& id, const std::shared_ptr<Flight>& flight, const Result<Bytes>& r);

  StorePtr store_;
  std::shared_ptr<BlockCache> cache_;
  std::chrono::milliseconds follow_timeout_;
  std::mutex mu_;
  std::condition_variable landed_;
  std::map<Hash, std::shared_ptr<Flight>> flights_;
  FetchStats stats_;
};

}  // namespace tiffin
