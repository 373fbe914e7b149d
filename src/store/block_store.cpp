#include "store/block_store.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace tiffin {

void BlockStore::get_many(std::span<const Hash> ids, const BlockSink& on_block) {
  std::atomic<size_t> cursor{0};
  std::mutex mu;  // on_block is never called twice at once
  auto work = [&] {
    for (size_t i; (i = cursor++) < ids.size();) {
      Result<Bytes> r = get(ids[i]);
      std::lock_guard lock(mu);
      on_block(i, std::move(r));
    }
  };
  std::vector<std::jthread> helpers;
  for (size_t t = 1; t < std::min(kParallelGets, ids.size()); ++t) helpers.emplace_back(work);
  work();
}

}  // namespace tiffin
