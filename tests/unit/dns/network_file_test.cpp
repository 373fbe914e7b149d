#include "dns/network_file.hpp"

#include <gtest/gtest.h>

#include "dns/zone.hpp"

namespace tiffin::dns {
namespace {

constexpr std::string_view example = R"(# tiffin-dns network file
listen 10.89.0.1            # the gateway
listen [fd00::1]:5300
upstream 127.0.0.1:5353
upstream ::1
search Tiffin
record web 10.89.0.2
record WEB 10.89.0.3
record web fd00::2
record web.alias 10.89.0.2
)";

TEST(NetworkFile, ParsesEveryKeyword) {
  auto f = parse_network_file("front", example, "/run/dns/front.conf");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->network, "front");
  ASSERT_EQ(f->listen.size(), 2u);
  EXPECT_EQ(f->listen[0].str(), "10.89.0.1:53");
  EXPECT_EQ(f->listen[1].str(), "[fd00::1]:5300");
  ASSERT_EQ(f->upstreams.size(), 2u);
  EXPECT_EQ(f->upstreams[0].str(), "127.0.0.1:5353");
  EXPECT_EQ(f->upstreams[1].str(), "[::1]:53");
  EXPECT_EQ(f->search, "tiffin");
  ASSERT_EQ(f->records.size(), 4u);
  EXPECT_EQ(f->records[1].name, "web");
}

TEST(NetworkFile, BadLinesNameFileAndLine) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"listen 10.0.0.1\nbogus x\n", "f.conf:2: unknown keyword 'bogus'"},
      {"listen 10.0.0.1\nrecord web\n", "f.conf:2: expected 'record NAME ADDRESS'"},
      {"listen 10.0.0.1\n\n# c\nrecord web 10.0.0.300\n", "f.conf:4:"},
      {"listen 10.0.0.1\nrecord we..b 10.0.0.3\n", "f.conf:2: 'we..b' is not a host name"},
      {"listen 10.0.0.1:0\n", "f.conf:1:"},
      {"listen 10.0.0.1:99999\n", "f.conf:1:"},
      {"listen 0.0.0.0\n", "f.conf:1: listen needs a specific address"},
      {"listen [fd00::1\n", "f.conf:1:"},
      {"listen 10.0.0.1\nsearch a\nsearch b\n", "f.conf:3: a second search domain"},
      {"upstream 127.0.0.1\n", "f.conf: no listen address"},
  };
  for (const auto& c : cases) {
    auto f = parse_network_file("f", c.text, "f.conf");
    ASSERT_FALSE(f) << c.text;
    EXPECT_EQ(f.error().kind, Errc::invalid_input);
    EXPECT_NE(f.error().message.find(c.want), std::string::npos) << f.error().message;
  }
}

TEST(NetworkFile, EndpointForms) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:5300")->port, 5300);
  EXPECT_EQ(parse_endpoint("127.0.0.1")->port, 53);
  EXPECT_EQ(parse_endpoint("fd00::1")->address.str(), "fd00::1");
  EXPECT_EQ(parse_endpoint("[fd00::1]")->port, 53);
  for (const char* bad : {"127.0.0.1:", "127.0.0.1:x", "[fd00::1]x", "host:53", ""}) EXPECT_FALSE(parse_endpoint(bad)) << bad;
}

TEST(NetworkFile, OnlyConfFilesAreNetworks) {
  EXPECT_EQ(network_of_file("front.conf"), "front");
  EXPECT_EQ(network_of_file("my-net_2.conf"), "my-net_2");
  for (const char* no : {".conf", ".tmp.1.2.front.conf", "resolver.pid", "resolver.log", "front.conf~", "a b.conf"})
    EXPECT_EQ(network_of_file(no), "") << no;
}

TEST(Zone, MatchesWithSearchDomainAnyCase) {
  auto f = parse_network_file("front", example, "front.conf");
  ASSERT_TRUE(f);
  Zone z(*f);
  for (const char* name : {"web", "WEB", "web.tiffin", "Web.TIFFIN"}) {
    auto* a = z.find(name);
    ASSERT_NE(a, nullptr) << name;
    ASSERT_EQ(a->size(), 3u);
    EXPECT_EQ((*a)[0].str(), "10.89.0.2");
    EXPECT_EQ((*a)[2].str(), "fd00::2");
  }
  EXPECT_NE(z.find("web.alias.tiffin"), nullptr);
  EXPECT_EQ(z.find("web.other"), nullptr);
  EXPECT_EQ(z.find("tiffin"), nullptr);
  EXPECT_EQ(z.find("xweb"), nullptr);
  EXPECT_EQ(z.find("webtiffin"), nullptr);
  EXPECT_TRUE(z.owns("nope.tiffin"));
  EXPECT_TRUE(z.owns("TIFFIN"));
  EXPECT_FALSE(z.owns("nottiffin"));
  EXPECT_FALSE(z.owns("example.com"));
  auto names = z.names_of(*net::IpAddress::parse("10.89.0.2"));
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "web.tiffin");  // file order
  EXPECT_EQ(names[1], "web.alias.tiffin");
}

TEST(Zone, ReverseNames) {
  EXPECT_EQ(parse_reverse_name("2.0.89.10.in-addr.arpa")->str(), "10.89.0.2");
  EXPECT_EQ(parse_reverse_name("2.0.89.10.IN-ADDR.ARPA")->str(), "10.89.0.2");
  std::string v6 = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
  EXPECT_EQ(parse_reverse_name(v6)->str(), "fd00::2");
  for (const char* bad : {"0.89.10.in-addr.arpa", "02.0.89.10.in-addr.arpa", "256.0.89.10.in-addr.arpa", "x.0.89.10.in-addr.arpa",
           "2.0.ip6.arpa", "web.tiffin"})
    EXPECT_FALSE(parse_reverse_name(bad)) << bad;
}

}  // namespace
}  // namespace tiffin::dns
