#include "net/address.hpp"

#include <gtest/gtest.h>

namespace tiffin::net {
namespace {

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(IpAddress::parse("10.88.0.1")->str(), "10.88.0.1");
  EXPECT_EQ(IpAddress::parse("fd00:0:0::1")->str(), "fd00::1");
  EXPECT_TRUE(IpAddress::parse("127.0.0.1")->is_loopback());
  EXPECT_TRUE(IpAddress::parse("::")->is_unspecified());
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "10.0.0.1/24", "[::1]", "fe80::1%eth0", "1.2.3.4 ", "x"})
    EXPECT_EQ(IpAddress::parse(bad).error().kind, Errc::invalid_input) << bad;
}

TEST(IpAddress, PlusCarriesAcrossBytes) {
  EXPECT_EQ(IpAddress::parse("10.0.0.255")->plus(1).str(), "10.0.1.0");
  EXPECT_EQ(IpAddress::parse("10.0.0.1")->plus(65536).str(), "10.1.0.1");
  EXPECT_EQ(IpAddress::parse("fd00::ffff")->plus(2).str(), "fd00::1:1");
  EXPECT_EQ(IpAddress::v4(0x0a000001).str(), "10.0.0.1");
  EXPECT_EQ(IpAddress::parse("10.0.0.1")->v4_value(), 0x0a000001u);
}

TEST(Cidr, StrictRefusesHostBitsAndBadPrefixes) {
  EXPECT_EQ(Cidr::parse("10.88.0.0/16", true)->str(), "10.88.0.0/16");
  auto host = Cidr::parse("10.88.0.5/16", true);
  ASSERT_FALSE(host);
  EXPECT_NE(host.error().message.find("10.88.0.0/16"), std::string::npos);
  EXPECT_EQ(Cidr::parse("10.88.0.5/16", false)->address().str(), "10.88.0.5");
  EXPECT_EQ(Cidr::parse("10.1.2.3", true)->prefix(), 32u);
  EXPECT_FALSE(Cidr::parse("10.0.0.0/0", true));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "fd00::/129", "10.0.0.0/8x"})
    EXPECT_FALSE(Cidr::parse(bad, false)) << bad;
}

TEST(Cidr, ContainsOverlapsAndBounds) {
  auto net = *Cidr::parse("172.30.0.0/16", true);
  EXPECT_TRUE(net.contains(*IpAddress::parse("172.30.255.254")));
  EXPECT_FALSE(net.contains(*IpAddress::parse("172.31.0.1")));
  EXPECT_FALSE(net.contains(*IpAddress::parse("fd00::1")));
  EXPECT_TRUE(net.overlaps(*Cidr::parse("172.30.4.0/24", true)));
  EXPECT_TRUE(Cidr::parse("172.0.0.0/8", true)->overlaps(net));
  EXPECT_FALSE(net.overlaps(*Cidr::parse("172.31.0.0/16", true)));
  EXPECT_EQ(net.last().str(), "172.30.255.255");
  EXPECT_EQ(net.size(), 65536u);
  EXPECT_EQ(Cidr::parse("fd00::/64", true)->size(), uint64_t{1} << 63);
  EXPECT_EQ(Cidr::parse("fd00:1::/48", true)->last().str(), "fd00:1:0:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(Cidr::parse("0.0.0.0/0", true)->size(), uint64_t{1} << 32);
}

TEST(Mac, ParsesSixPairsAndRefusesMulticast) {
  EXPECT_EQ(format_mac(*parse_mac("02:42:AC:11:00:02")), "02:42:ac:11:00:02");
  for (const char* bad : {"02:42:ac:11:00", "02:42:ac:11:00:02:03", "0g:42:ac:11:00:02", "2:42:ac:11:00:02", "01:00:5e:00:00:01"})
    EXPECT_FALSE(parse_mac(bad)) << bad;
}

}  // namespace
}  // namespace tiffin::net
