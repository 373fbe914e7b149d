#include <gtest/gtest.h>

#include "store/block_codec.hpp"
#include "test_support.hpp"

using namespace tiffin;

static Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// The check vector of docs/DESIGN.md §3.1, which alpine-latest.fl (made by rfs) holds for /etc/apk/arch.
TEST(BlockCodec, MatchesRfsTestVector) {
  EncodedBlock b = encode_block(bytes_of("x86_64\n"));
  EXPECT_EQ(to_hex(b.key), "0c7ff1f16cc321473b8017f8d1450115dde7e4899c1a35ca27f095ca75aad631");
  EXPECT_EQ(to_hex(b.id), "6af06e0392d98cef5aa55f253ab64ba1367cb9c61775b766539197e45fe1981f");
}

TEST(BlockCodec, RoundTripsLargeAndEmptyBlocks) {
  for (size_t n : {size_t(0), size_t(1), size_t(4096), kBlockSize}) {
    Bytes plain = test::random_bytes(n, static_cast<uint32_t>(n));
    EncodedBlock b = encode_block(plain);
    auto back = decode_block(b.id, b.key, b.sealed);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, plain);
  }
}

TEST(BlockCodec, ConvergentEncryptionDeduplicates) {
  Bytes plain = test::random_bytes(1000, 7);
  EXPECT_EQ(encode_block(plain).id, encode_block(plain).id);
  plain[0] ^= 1;
  EXPECT_NE(encode_block(plain).id, encode_block(test::random_bytes(1000, 7)).id);
}

TEST(BlockCodec, RejectsTamperedBytes) {
  EncodedBlock b = encode_block(bytes_of("some content"));
  Bytes bad = b.sealed;
  bad[0] ^= 0x40;
  auto r = decode_block(b.id, b.key, bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::corrupt);
}

TEST(BlockCodec, RejectsTamperedBytesEvenWhenIdMatches) {
  // A malicious store computes the id over its forged bytes: the GCM tag still fails.
  EncodedBlock b = encode_block(bytes_of("some content"));
  Bytes bad = b.sealed;
  bad[1] ^= 0x01;
  auto r = decode_block(blake2b256(bad), b.key, bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::corrupt);
}

TEST(BlockCodec, RejectsWrongKeyAndShortInput) {
  EncodedBlock b = encode_block(bytes_of("some content"));
  Hash wrong = b.key;
  wrong[5] ^= 1;
  EXPECT_FALSE(decode_block(b.id, wrong, b.sealed));
  Bytes tiny{1, 2, 3};
  EXPECT_FALSE(decode_block(blake2b256(tiny), b.key, tiny));
}

TEST(BlockCodec, InPlaceDecodeMatchesAndStillRejects) {
  Bytes plain = test::random_bytes(300000, 11);
  EncodedBlock b = encode_block(plain);
  auto back = decode_block(b.id, b.key, Bytes(b.sealed));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(*back, plain);
  Bytes bad = b.sealed;
  bad[bad.size() / 2] ^= 0x10;
  auto r = decode_block(blake2b256(bad), b.key, std::move(bad));  // id forged over the bytes: the tag fails
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::corrupt);
  EXPECT_TRUE(key_matches(b.key, plain));
  EXPECT_FALSE(key_matches(b.key, bytes_of("other")));
}
