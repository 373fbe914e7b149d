#include <gtest/gtest.h>

#include <filesystem>

#include "store/block_codec.hpp"
#include "store/dir_store.hpp"
#include "store/router.hpp"
#include "test_support.hpp"

using namespace tiffin;

TEST(Router, ShardsByFirstByte) {
  test::TempDir dir;
  auto r = open_router({"00-7f=dir://" + (dir / "low"), "80-ff=dir://" + (dir / "high")}, true);
  ASSERT_TRUE(r) << r.error().message;
  auto low = *DirStore::open(dir / "low", false);
  auto high = *DirStore::open(dir / "high", false);
  int seen_low = 0, seen_high = 0;
  for (uint32_t i = 0; i < 40; ++i) {
    EncodedBlock b = encode_block(test::random_bytes(100, i));
    ASSERT_TRUE((*r)->put(b.id, b.sealed));
    bool in_low = *low->has(b.id), in_high = *high->has(b.id);
    EXPECT_NE(in_low, in_high);
    EXPECT_EQ(in_low, b.id[0] < 0x80);
    seen_low += in_low;
    seen_high += in_high;
    EXPECT_EQ(*(*r)->get(b.id), b.sealed);
  }
  EXPECT_GT(seen_low, 0);
  EXPECT_GT(seen_high, 0);
}

TEST(Router, ReplicasGetEveryWriteAndCoverForEachOther) {
  test::TempDir dir;
  auto r = open_router({"dir://" + (dir / "a"), "dir://" + (dir / "b")}, true);
  ASSERT_TRUE(r);
  auto a = *DirStore::open(dir / "a", false);
  auto b = *DirStore::open(dir / "b", false);
  EncodedBlock blk = encode_block(test::random_bytes(100, 1));
  ASSERT_TRUE((*r)->put(blk.id, blk.sealed));
  EXPECT_TRUE(*a->has(blk.id));
  EXPECT_TRUE(*b->has(blk.id));
  std::filesystem::remove(a->block_path(blk.id));
  EXPECT_FALSE(*(*r)->has(blk.id)) << "a block missing in one replica is to be written again";
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*(*r)->get(blk.id), blk.sealed) << "read falls back to the other replica";
}

TEST(Router, NoRouteIsAnError) {
  test::TempDir dir;
  auto r = open_router({"00-0f=dir://" + dir.path()}, true);
  Hash id{};
  id[0] = 0xf0;
  EXPECT_FALSE((*r)->get(id));
  EXPECT_FALSE((*r)->put(id, Bytes{1}));
}
