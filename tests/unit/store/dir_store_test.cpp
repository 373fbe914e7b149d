#include <gtest/gtest.h>

#include <filesystem>

#include "store/block_codec.hpp"
#include "store/dir_store.hpp"
#include "test_support.hpp"

using namespace tiffin;

TEST(DirStore, PutGetHasInRfsLayout) {
  test::TempDir dir;
  auto store = DirStore::open(dir / "s", true);
  ASSERT_TRUE(store);
  EncodedBlock b = encode_block(test::random_bytes(5000, 1));
  EXPECT_FALSE(*(*store)->has(b.id));
  ASSERT_TRUE((*store)->put(b.id, b.sealed));
  EXPECT_TRUE(*(*store)->has(b.id));
  auto got = (*store)->get(b.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, b.sealed);
  std::string hex = to_hex(b.id);
  EXPECT_TRUE(std::filesystem::exists(dir / ("s/" + hex.substr(0, 2) + "/" + hex)));
  ASSERT_TRUE((*store)->flush());
  // No temp file is left next to the block.
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir / "s")) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST(DirStore, MissingBlockIsNotFound) {
  test::TempDir dir;
  auto store = DirStore::open(dir.path(), false);
  ASSERT_TRUE(store);
  Hash id{};
  auto r = (*store)->get(id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::not_found);
}

TEST(DirStore, OpenRefusesFilesAndReadsMissingDirsAsEmpty) {
  test::TempDir dir;
  test::write_text(dir / "f", "x");
  EXPECT_FALSE(DirStore::open(dir / "f", true));
  auto missing = DirStore::open(dir / "missing", false);
  ASSERT_TRUE(missing);
  auto r = (*missing)->get(Hash{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::not_found);
}
