// Plain block content by (id, key): from the node's cache when it is there, else from the
// stores, verified (id, GCM tag, key) and then cached. A block that fails verification is an
// error and is never cached. Concurrent fetches of one block share a single download.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "store/block_cache.hpp"
#include "store/block_store.hpp"

namespace tiffin {

struct FetchStats {
  uint64_t hits = 0, misses = 0;
};

class BlockFetcher {
 public:
  // `cache` may be null (no caching).
  BlockFetcher(StorePtr store, std::shared_ptr<BlockCache> cache) : store_(std::move(store)), cache_(std::move(cache)) {}

  Result<Bytes> fetch(const Hash& id, const Hash& key);
  FetchStats stats();

 private:
  struct Flight {
    bool done = false;
    std::optional<Result<Bytes>> result;
  };
  Result<Bytes> fetch_uncached(const Hash& id, const Hash& key);

  StorePtr store_;
  std::shared_ptr<BlockCache> cache_;
  std::mutex mu_;
  std::condition_variable landed_;
  std::map<Hash, std::shared_ptr<Flight>> flights_;
  FetchStats stats_;
};

}  // namespace tiffin
