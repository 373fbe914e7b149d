// Merging the prefetch profiles nodes report for one flist into the one the hub serves. Pure.
//
// Each report is a list of block ids in first-read order (repeats ignored). A block's score is
// the number of reports that contain it; with at least `min_reports` reports, blocks whose score
// is below `min_share` of them are dropped (one odd run does not teach the hub). The rest are
// ordered by the median of their normalised positions (0 = first read, 1 = last read of its
// report), ties by higher score, then by id, so the merge is deterministic whatever the order of
// the reports. At most `max_ids` blocks are kept: the highest scores, then the earliest.
#pragma once

#include <cstddef>
#include <vector>

#include "common/hash.hpp"

namespace tiffin::hub {

struct ProfileMergeOptions {
  size_t min_reports = 4;   // below this many reports, every block counts
  double min_share = 0.25;  // with min_reports or more: keep blocks in at least this share of reports
  size_t max_ids = 100'000;
};

std::vector<Hash> merge_profiles(const std::vector<std::vector<Hash>>& reports, const ProfileMergeOptions& opts = {});

}  // namespace tiffin::hub
