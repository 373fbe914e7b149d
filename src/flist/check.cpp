#include "flist/check.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "common/parallel.hpp"
#include "common/progress.hpp"
#include "common/text.hpp"
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
  for (size_t idx : tree.damaged_files()) {
    ++report.damaged;
    report.problems.push_back(tree.describe_damage(idx));
  }
  Progress progress("checking", 0, show_progress);
  std::mutex mu;
  // Problems are collected, not returned: every block gets checked.
  (void)parallel_for(items.size(), threads, [&](size_t k) -> Result<void> {
    const Item& it = items[k];
    auto sealed = store.get(it.ref.id);
    Result<Bytes> plain = sealed ? decode_block(it.ref.id, it.ref.key, std::move(*sealed)) : std::unexpected(sealed.error());
    // A check also holds the author to rfs's rule that a block's key is its content's hash.
    if (plain && !key_matches(it.ref.key, *plain))
      plain = fail(Errc::corrupt, "block " + to_hex(it.ref.id) + ": content does not match its key");
    progress.add(plain ? plain->size() : 0, 1);
    if (plain) return {};
    std::lock_guard lock(mu);
    const char* what = "corrupt";
    if (plain.error().kind == Errc::not_found) {
      ++report.missing;
      what = "missing";
    } else if (plain.error().kind == Errc::corrupt) ++report.corrupt;
    else {
      ++report.unreachable;
      what = "unreachable";
    }
    report.problems.push_back(
        std::string(what) + " block " + to_hex(it.ref.id) + " of " + printable(tree.path_of(it.node)) + ": " + plain.error().message);
    return {};
  });
  progress.finish();
  std::sort(report.problems.begin(), report.problems.end());
  return report;
}

}  // namespace tiffin
