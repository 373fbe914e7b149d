#include <gtest/gtest.h>

#include <sodium.h>

#include "common/hash.hpp"
#include "test_support.hpp"

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

TEST(Hash, Blake2b256MatchesLibsodiumAtEverySize) {
  // The RFC 7693 parameters for a 32-byte digest, and libsodium's answer for every tail length.
  const std::string_view abc = "abc";
  EXPECT_EQ(to_hex(blake2b256({reinterpret_cast<const uint8_t*>(abc.data()), abc.size()})),
      "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  Bytes data = test::random_bytes(600 * 1024, 5);
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 520; ++n) sizes.push_back(n);
  for (size_t n : {1023u, 1024u, 1025u, 65536u, 524288u, 524289u, 600u * 1024}) sizes.push_back(n);
  for (size_t n : sizes) {
    Hash want;
    crypto_generichash(want.data(), want.size(), data.data(), n, nullptr, 0);
    ASSERT_EQ(blake2b256({data.data(), n}), want) << n << " bytes";
  }
}
