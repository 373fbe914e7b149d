// The router of rfs: each route covers a range of the first byte of a block id. Overlapping
// ranges are replicas: a read tries the matching stores in random order until one has the
// block; a write goes to every matching store. Also the factory that opens a store from a URL.
#pragma once

#include <chrono>
#include <vector>

#include "store/block_store.hpp"
#include "store/store_url.hpp"

namespace tiffin {

struct Route {
  uint8_t start = 0, end = 0xff;
  std::string url;  // as written into the flist (no password)
};

class Router final : public BlockStore {
 public:
  struct Entry {
    uint8_t start, end;
    StorePtr store;
  };
  explicit Router(std::vector<Entry> entries) : entries_(std::move(entries)) {}

  Result<Bytes> get(const Hash& id) override;
  // Groups the ids by store: each store's get_many is asked for its own (the first matching
  // route's); those it could not give (missing, unavailable) go to the next replica in turn.
  void get_many(std::span<const Hash> ids, const BlockSink& on_block) override;
  Result<void> put(const Hash& id, std::span<const uint8_t> sealed) override;
  Result<bool> has(const Hash& id) override;
  Result<void> flush() override;
  std::string url() const override;

  std::vector<Route> routes() const;
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<BlockStore*> matching(const Hash& id) const;
  std::vector<Entry> entries_;
};

// How long a remote store may take to answer one request before it counts as unavailable
// (http: per request, after retries; zdb: per command).
struct StoreOptions {
  std::chrono::milliseconds timeout{20000};
};

// Opens one store by URL. `create` lets dir:// make its directory.
Result<StorePtr> open_store(const std::string& url, bool create = false, const StoreOptions& opts = {});
// Opens a router from rfs-style specs ("[xx-xx=]url").
Result<std::shared_ptr<Router>> open_router(const std::vector<std::string>& specs, bool create = false, const StoreOptions& opts = {});
// Opens a router over an flist's routes.
Result<std::shared_ptr<Router>> open_routes(const std::vector<Route>& routes, const StoreOptions& opts = {});

}  // namespace tiffin
