#include "store/block_fetcher.hpp"

#include "store/block_codec.hpp"

namespace tiffin {

FetchStats BlockFetcher::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<Bytes> BlockFetcher::fetch_uncached(const Hash& id, const Hash& key) {
  Bytes plain = TRY(decode_block(id, key, TRY(store_->get(id))));
  {
    std::lock_guard lock(mu_);
    ++stats_.misses;
  }
  // A cache that cannot be written only costs speed; the data is good.
  if (cache_) (void)cache_->insert(id, plain);
  return plain;
}

Result<Bytes> BlockFetcher::fetch(const Hash& id, const Hash& key) {
  if (cache_) {
    auto hit = cache_->get(id);
    if (hit && *hit && blake2b256(**hit) == key) {
      std::lock_guard lock(mu_);
      ++stats_.hits;
      return std::move(**hit);
    }
  }
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::unique_lock lock(mu_);
    auto [it, inserted] = flights_.try_emplace(id, nullptr);
    if (inserted) {
      it->second = std::make_shared<Flight>();
      leader = true;
    }
    flight = it->second;
    if (!leader) {
      landed_.wait(lock, [&] { return flight->done; });
      return *flight->result;
    }
  }
  Result<Bytes> r = fetch_uncached(id, key);
  {
    std::lock_guard lock(mu_);
    flight->result = r;
    flight->done = true;
    flights_.erase(id);
  }
  landed_.notify_all();
  return r;
}

}  // namespace tiffin
