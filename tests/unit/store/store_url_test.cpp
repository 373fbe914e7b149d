#include <gtest/gtest.h>

#include "store/store_url.hpp"

using namespace tiffin;

TEST(StoreUrl, ParsesDir) {
  auto u = parse_store_url("dir:///var/store/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "dir");
  EXPECT_EQ(u->path, "/var/store");
  EXPECT_EQ(u->public_url(), "dir:///var/store");
}

TEST(StoreUrl, ParsesZdbWithCredentialsAndStripsPassword) {
  auto u = parse_store_url("zdb://alice:s3cret@127.0.0.1:9901/ns1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "s3cret");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9901);
  EXPECT_EQ(u->path, "/ns1");
  EXPECT_EQ(u->public_url(), "zdb://alice@127.0.0.1:9901/ns1");
}

TEST(StoreUrl, ParsesIpv6AndHttp) {
  auto u = parse_store_url("zdb://[::1]:9900");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "[::1]");
  EXPECT_EQ(u->port, 9900);
  auto h = parse_store_url("https://hub.example/blocks");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->path, "/blocks");
}

TEST(StoreUrl, RejectsBadInput) {
  for (const char* bad : {"", "/tmp/x", "ftp://x", "dir://relative", "zdb://:9900", "zdb://h:0", "zdb://h:70000", "zdb://h:12ab",
           "zdb://h:+1", "zdb://h:-1", "zdb://h: 1", "zdb://[::1"})
    EXPECT_FALSE(parse_store_url(bad)) << bad;
}

TEST(StoreSpec, ParsesRanges) {
  auto s = parse_store_spec("00-7f=dir:///a");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->start, 0x00);
  EXPECT_EQ(s->end, 0x7f);
  EXPECT_EQ(s->url, "dir:///a");
  auto all = parse_store_spec("zdb://h/ns");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->start, 0);
  EXPECT_EQ(all->end, 0xff);
  EXPECT_FALSE(parse_store_spec("80-10=dir:///a"));
  EXPECT_FALSE(parse_store_spec("xx-10=dir:///a"));
  EXPECT_FALSE(parse_store_spec("000-10=dir:///a"));
  EXPECT_FALSE(parse_store_spec("+1-10=dir:///a"));
  EXPECT_FALSE(parse_store_spec("00-+f=dir:///a"));
}
