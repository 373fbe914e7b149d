#include "hub/profile_merge.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace tiffin::hub {
namespace {

struct MergeIdHash {
  size_t operator()(const Hash& h) const {
    size_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};

struct MergeSeen {
  std::vector<double> positions;  // one per report that contains the block
};

double merge_median(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

std::vector<Hash> merge_profiles(const std::vector<std::vector<Hash>>& reports, const ProfileMergeOptions& opts) {
  std::unordered_map<Hash, MergeSeen, MergeIdHash> seen;
  size_t counted = 0;  // reports with at least one block
  for (const auto& report : reports) {
    std::vector<const Hash*> order;
    std::unordered_set<Hash, MergeIdHash> in_report;
    for (const Hash& id : report)
      if (in_report.insert(id).second) order.push_back(&id);
    if (order.empty()) continue;
    ++counted;
    double last = order.size() > 1 ? static_cast<double>(order.size() - 1) : 1.0;
    for (size_t i = 0; i < order.size(); ++i) seen[*order[i]].positions.push_back(static_cast<double>(i) / last);
  }
  // Scores below this are dropped: ceil(share × reports), once there are enough reports.
  size_t min_score = 1;
  if (counted >= opts.min_reports) min_score = std::max<size_t>(1, static_cast<size_t>(std::ceil(opts.min_share * counted - 1e-9)));

  struct Entry {
    Hash id;
    size_t score;
    double position;
  };
  std::vector<Entry> entries;
  for (auto& [id, s] : seen)
    if (s.positions.size() >= min_score) entries.push_back({id, s.positions.size(), merge_median(s.positions)});
  auto earlier = [](const Entry& a, const Entry& b) {
    if (a.position != b.position) return a.position < b.position;
    if (a.score != b.score) return a.score > b.score;
    return a.id < b.id;
  };
  if (entries.size() > opts.max_ids) {
    std::sort(entries.begin(), entries.end(),
        [&](const Entry& a, const Entry& b) { return a.score != b.score ? a.score > b.score : earlier(a, b); });
    entries.resize(opts.max_ids);
  }
  std::sort(entries.begin(), entries.end(), earlier);
  std::vector<Hash> out;
  out.reserve(entries.size());
  for (const Entry& e : entries) out.push_back(e.id);
  return out;
}

}  // namespace tiffin::hub
