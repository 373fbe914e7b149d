// The router of rfs: each route covers a range of the first byte of a block id. Overlapping
// ranges are replicas: a read tries the matching stores in random order until one has the
// block; a write goes to every matching store. Also the factory that opens a store from a URL.
//
// A replica that failed as a transport (Errc::unavailable: refused, timed out, 5xx) is tried
// last for the next kDownFor, so that losing one of two hubs costs one failed request, not
// one on every other read.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
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
  explicit Router(std::vector<Entry> entries)
      : entries_(std::move(entries)), down_until_(std::make_unique<std::atomic<int64_t>[]>(entries_.size())) {}
  static constexpr std::chrono::seconds kDownFor{5};

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
  // All entries: those not marked down in random order, then the ones marked.
  std::vector<size_t> preference() const;
  // The entries covering `id`, in the order of `preference`.
  std::vector<size_t> matching(const Hash& id, const std::vector<size_t>& preference) const;
  void note(size_t entry, bool ok, const Error* error);
  std::vector<Entry> entries_;
  std::unique_ptr<std::atomic<int64_t>[]> down_until_;  // steady clock ns, per entry
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
