#include <algorithm>
#include "flist/check.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/progress.hpp"
#include "store/block_codec.hpp"

namespace tiffin {

Result<CheckReport> check(const Tree& tree, BlockStore& store, unsigned threads, bool show_progress) {
  struct Item {
    BlockRef ref;
    size_t node;
  };
  std::vector<Item> items;
  std::unordered_map<std::string, bool> seen;
  for (size_t idx : tree.preorder())
    for (const auto& b : tree.nodes[idx].blocks)
      if (seen.emplace(to_hex(b.id), true).second) items.push_back({b, idx});

  CheckReport report;
  report.blocks = items.size();
  Progress progress("checking", 0, show_progress);
  std::mutex mu;
  std::atomic<size_t> next{0};
  if (!threads) threads = std::max(2u, 2 * std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t k; (k = next++) < items.size();) {
        const Item& it = items[k];
        auto sealed = store.get(it.ref.id);
        Result<Bytes> plain = sealed ? decode_block(it.ref.id, it.ref.key, *sealed) : std::unexpected(sealed.error());
        progress.add(plain ? plain->size() : 0, 1);
        if (plain) continue;
        std::lock_guard lock(mu);
        const char* what = "corrupt";
        if (plain.error().kind == Errc::not_found) { ++report.missing; what = "missing"; }
        else if (plain.error().kind == Errc::corrupt) ++report.corrupt;
        else { ++report.unreachable; what = "unreachable"; }
        report.problems.push_back(std::string(what) + " block " + to_hex(it.ref.id) + " of " + tree.path_of(it.node) + ": " + plain.error().message);
      }
    });
  for (auto& t : pool) t.join();
  progress.finish();
  std::sort(report.problems.begin(), report.problems.end());
  return report;
}

}  // namespace tiffin
