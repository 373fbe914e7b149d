#include "image/digest.hpp"

#include <gtest/gtest.h>

using namespace tiffin;
using namespace tiffin::image;

namespace {
std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
const std::string kEmpty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kAbc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
}  // namespace

TEST(Digest, KnownValues) {
  EXPECT_EQ(sha256_digest({}), kEmpty);
  EXPECT_EQ(sha256_digest(bytes("abc")), kAbc);
}

TEST(Digest, Validate) {
  EXPECT_TRUE(validate_digest(kAbc));
  for (const std::string& bad :
      {std::string(""), std::string("sha256:"), std::string("sha256:abc"), "sha512:" + std::string(128, 'a'), "SHA256:" + kAbc.substr(7),
          "sha256:" + std::string(64, 'A'), "sha256:" + std::string(65, 'a'), kAbc.substr(7), "sha256:" + std::string(63, 'a') + "g"}) {
    auto r = validate_digest(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().kind, Errc::invalid_input);
    }
  }
}

TEST(Digest, VerifierStreams) {
  DigestVerifier v(kAbc);
  v.update(bytes("a"));
  v.update(bytes(""));
  v.update(bytes("bc"));
  EXPECT_EQ(v.size(), 3u);
  EXPECT_TRUE(v.finish("blob x"));
}

TEST(Digest, VerifierMismatchNamesBoth) {
  DigestVerifier v(kEmpty);
  v.update(bytes("abc"));
  auto r = v.finish("blob " + kEmpty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::corrupt);
  EXPECT_NE(r.error().message.find("digest mismatch: expected " + kEmpty + ", got " + kAbc), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("blob ", 0), 0u);
}

TEST(Digest, VerifierMoves) {
  DigestVerifier a(kAbc);
  a.update(bytes("ab"));
  DigestVerifier b(std::move(a));
  b.update(bytes("c"));
  EXPECT_TRUE(b.finish("x"));
}
