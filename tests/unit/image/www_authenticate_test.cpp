#include "image/www_authenticate.hpp"

#include <gtest/gtest.h>

using namespace tiffin::image;

TEST(WwwAuthenticate, Bearer) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].param("service"), "registry.docker.io");
  EXPECT_EQ(c[0].param("scope"), "repository:library/alpine:pull");
  EXPECT_EQ(c[0].param("nothing"), "");
}

TEST(WwwAuthenticate, BasicSpacesAndSeveral) {
  auto c = parse_www_authenticate(R"(Basic realm = "Registry Realm" , charset="UTF-8", Bearer realm="http://x/t",error=invalid_token)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].param("realm"), "Registry Realm");
  EXPECT_EQ(c[0].param("charset"), "UTF-8");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].param("error"), "invalid_token");
}

TEST(WwwAuthenticate, EscapesAndJunk) {
  auto c = parse_www_authenticate(R"(BEARER Realm="a\"b\\c")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "a\"b\\c");
  EXPECT_TRUE(parse_www_authenticate("").empty());
  EXPECT_TRUE(parse_www_authenticate("\"").empty());
  EXPECT_EQ(parse_www_authenticate(R"(Bearer realm="unterminated)").size(), 0u);
  EXPECT_EQ(parse_www_authenticate("Basic").size(), 1u);
}
