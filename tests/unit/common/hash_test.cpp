#include <gtest/gtest.h>

#include "common/hash.hpp"

using namespace tiffin;

TEST(Hex, RoundTrip) {
  Bytes b{0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(to_hex(b), "007f80ff");
  EXPECT_EQ(*from_hex("007F80ff"), b);
}

TEST(Hex, RejectsMalformed) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(hash_from_hex("00"));
}

TEST(Blake2b, IncrementalEqualsOneShot) {
  const std::string s = "hello flists";
  Blake2b h;
  h.update(std::string_view(s).substr(0, 5));
  h.update(std::string_view(s).substr(5));
  EXPECT_EQ(h.finish(), blake2b256({reinterpret_cast<const uint8_t*>(s.data()), s.size()}));
}

TEST(Blake2b, FieldsAreLengthPrefixed) {
  Blake2b a, b;
  a.field("ab");
  a.field("c");
  b.field("a");
  b.field("bc");
  EXPECT_NE(a.finish(), b.finish());
}
