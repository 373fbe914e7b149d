// Merging nodes' profile reports (hub/profile_merge).
#include <gtest/gtest.h>

#include "hub/profile_merge.hpp"

using namespace tiffin;
using namespace tiffin::hub;

namespace {

Hash id(uint8_t b) {
  Hash h{};
  h.fill(b);
  return h;
}

std::vector<Hash> ids(std::initializer_list<int> bs) {
  std::vector<Hash> out;
  for (int b : bs) out.push_back(id(static_cast<uint8_t>(b)));
  return out;
}

}  // namespace

TEST(ProfileMerge, OneReportIsItselfWithoutRepeats) {
  EXPECT_EQ(merge_profiles({ids({3, 1, 2, 1, 3})}), ids({3, 1, 2}));
  EXPECT_TRUE(merge_profiles({}).empty());
  EXPECT_TRUE(merge_profiles({{}, {}}).empty());
}

TEST(ProfileMerge, OrdersByMedianPosition) {
  // 1 comes first in two reports of three, 2 last in two: 1 (median 0), 3 (0.5), 2 (1).
  auto merged = merge_profiles({ids({1, 2, 3}), ids({1, 3, 2}), ids({3, 1, 2})});
  EXPECT_EQ(merged, ids({1, 3, 2}));
  // The order of the reports does not matter.
  EXPECT_EQ(merge_profiles({ids({3, 1, 2}), ids({1, 3, 2}), ids({1, 2, 3})}), merged);
}

TEST(ProfileMerge, PositionsAreNormalisedPerReport) {
  // 9 is read last of two and first of five: median 0.5, level with 2 (0.5 in one report),
  // which it precedes for being in more reports; 1 is at 0 and 0.25.
  EXPECT_EQ(merge_profiles({ids({1, 9}), ids({9, 1, 2, 3, 4})}), ids({1, 9, 2, 3, 4}));
}

TEST(ProfileMerge, RareBlocksDropOnceThereAreEnoughReports) {
  // Three reports: everything counts, even a block one run read.
  EXPECT_EQ(merge_profiles({ids({1, 2}), ids({1, 2}), ids({1, 2, 7})}).size(), 3u);
  // Eight reports: a block needs two (a quarter) to stay.
  std::vector<std::vector<Hash>> reports(8, ids({1, 2}));
  reports[0].push_back(id(7));
  reports[3].push_back(id(8));
  reports[5].push_back(id(8));
  auto merged = merge_profiles(reports);
  EXPECT_EQ(merged, ids({1, 2, 8}));
  // Four reports: the threshold is one, so 7 stays.
  EXPECT_EQ(merge_profiles({ids({1, 7}), ids({1}), ids({1}), ids({1})}), ids({1, 7}));
}

TEST(ProfileMerge, BoundedKeepsTheMostCommonBlocks) {
  std::vector<std::vector<Hash>> reports{ids({5, 1, 2}), ids({1, 2}), ids({1, 2, 6})};
  auto merged = merge_profiles(reports, {.max_ids = 2});
  EXPECT_EQ(merged, ids({1, 2}));
}
