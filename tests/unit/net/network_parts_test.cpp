// The pure parts of networking: -p specs, /etc files, address and subnet selection.
#include <gtest/gtest.h>

#include "net/etc_files.hpp"
#include "net/ipam.hpp"
#include "net/net_dev.hpp"
#include "net/port_spec.hpp"

namespace tiffin::net {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
Cidr cidr(const char* s) { return *Cidr::parse(s, true); }

TEST(PortSpec, ParsesDockersForms) {
  auto p = *parse_port_spec("80");
  EXPECT_EQ(p, (PortSpec{Proto::tcp, std::nullopt, 0, 0, 80, 80}));
  p = *parse_port_spec("8080:80/udp");
  EXPECT_EQ(p, (PortSpec{Proto::udp, std::nullopt, 8080, 8080, 80, 80}));
  p = *parse_port_spec("127.0.0.1:8080:80");
  EXPECT_EQ(p.host_ip, ip("127.0.0.1"));
  EXPECT_EQ(p.host_first, 8080);
  p = *parse_port_spec("127.0.0.1::80");
  EXPECT_EQ(p.host_first, 0);
  EXPECT_EQ(p.ctr_first, 80);
  p = *parse_port_spec("[::1]:8080:80/tcp");
  EXPECT_EQ(p.host_ip, ip("::1"));
  EXPECT_EQ(p.host_first, 8080);
  p = *parse_port_spec("0.0.0.0:9000-9002:7000-7002");
  EXPECT_FALSE(p.host_ip);
  EXPECT_EQ(p.host_last, 9002);
  EXPECT_EQ(p.ctr_last, 7002);
}

TEST(PortSpec, RefusesWhatDockerRefuses) {
  for (const char* bad : {"", "0", "65536", "80/sctp", "a:80", "1.2.3.4:5:6:7", "9002-9000:80", "::1:8080:80", "[::1]8080:80",
           "8080:", "80-", "300.1.1.1:80:80"}) {
    auto r = parse_port_spec(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, Errc::invalid_input) << bad;
  }
}

TEST(PortSpec, ExpandsRangesPairwiseOrAsAChoice) {
  auto e = *expand_port_spec(*parse_port_spec("9000-9002:7000-7002"));
  ASSERT_EQ(e.ports.size(), 3u);
  EXPECT_EQ(e.ports[2].host_port, 9002);
  EXPECT_EQ(e.ports[2].ctr_port, 7002);
  e = *expand_port_spec(*parse_port_spec("9000-9010:80"));
  ASSERT_EQ(e.ports.size(), 1u);
  EXPECT_EQ(e.pick_until, 9010);
  e = *expand_port_spec(*parse_port_spec("7000-7001"));
  EXPECT_EQ(e.ports.size(), 2u);
  EXPECT_EQ(e.ports[0].host_port, 0);
  EXPECT_FALSE(expand_port_spec(*parse_port_spec("9000-9001:80-82")));
  EXPECT_EQ(describe(e.ports[1]), "0.0.0.0:0->7001/tcp");
}

TEST(EtcFiles, HostsNamesTheContainerAndExtras) {
  auto h = hosts_file("web", {"10.89.0.2"}, {{"10.0.0.9", {"db", "db.local"}}});
  EXPECT_NE(h.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(h.find("10.89.0.2\tweb\n"), std::string::npos);
  EXPECT_NE(h.find("10.0.0.9\tdb db.local\n"), std::string::npos);
  EXPECT_EQ(h.find("127.0.1.1"), std::string::npos);
  EXPECT_NE(hosts_file("x", {}, {}).find("127.0.1.1\tx\n"), std::string::npos);
}

TEST(EtcFiles, ResolvConfRoundTripsAndLastSearchWins) {
  auto r = parse_resolv_conf("# c\nnameserver 10.0.0.1\nsearch a b\nnameserver ::1\ndomain c\noptions ndots:2 edns0\n");
  EXPECT_EQ(r.nameservers, (std::vector<std::string>{"10.0.0.1", "::1"}));
  EXPECT_EQ(r.search, (std::vector<std::string>{"c"}));
  EXPECT_EQ(format_resolv_conf(r), "nameserver 10.0.0.1\nnameserver ::1\nsearch c\noptions ndots:2 edns0\n");
}

TEST(Ipam, FirstFreeSkipsReservedAndTaken) {
  auto subnet = cidr("10.89.0.0/29");
  std::set<IpAddress> taken;
  std::vector<std::string> got;
  while (auto a = first_free_address(subnet, subnet, ip("10.89.0.1"), taken)) {
    got.push_back(a->str());
    taken.insert(*a);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.89.0.2", "10.89.0.3", "10.89.0.4", "10.89.0.5", "10.89.0.6"}));
  taken.erase(ip("10.89.0.4"));  // a freed address is handed out again
  EXPECT_EQ(first_free_address(subnet, subnet, ip("10.89.0.1"), taken), ip("10.89.0.4"));
  // A range inside the subnet.
  EXPECT_EQ(first_free_address(cidr("10.89.0.0/24"), cidr("10.89.0.128/25"), ip("10.89.0.1"), {}), ip("10.89.0.128"));
  // IPv6 /64: quick, no broadcast.
  EXPECT_EQ(first_free_address(cidr("fd00:1::/64"), cidr("fd00:1::/64"), ip("fd00:1::1"), {ip("fd00:1::2")}), ip("fd00:1::3"));
}

TEST(Ipam, SubnetsAvoidWhatIsInUse) {
  std::vector<Cidr> candidates = {cidr("10.89.0.0/24"), cidr("10.89.1.0/24"), cidr("10.89.2.0/24")};
  EXPECT_EQ(first_free_subnet(candidates, {cidr("10.89.0.0/24"), cidr("10.89.1.128/25")}), cidr("10.89.2.0/24"));
  EXPECT_FALSE(first_free_subnet(candidates, {cidr("10.0.0.0/8")}));
  EXPECT_EQ(default_gateway(cidr("172.30.0.0/16")), ip("172.30.0.1"));
}

TEST(Ipam, AddressingChecks) {
  EXPECT_TRUE(check_network_addressing(cidr("10.1.0.0/16"), ip("10.1.0.1"), cidr("10.1.2.0/24")));
  EXPECT_FALSE(check_network_addressing(cidr("10.1.0.0/16"), ip("10.2.0.1"), cidr("10.1.0.0/16")));
  EXPECT_FALSE(check_network_addressing(cidr("10.1.0.0/16"), ip("10.1.0.0"), cidr("10.1.0.0/16")));
  EXPECT_FALSE(check_network_addressing(cidr("10.1.0.0/16"), ip("10.1.0.1"), cidr("10.2.0.0/24")));
  EXPECT_FALSE(check_network_addressing(cidr("10.1.0.0/31"), ip("10.1.0.1"), cidr("10.1.0.0/31")));
}

TEST(Ipam, ReadsTheHostsRoutes) {
  // Every Linux host has at least lo's or an interface's route… unless it has no IPv4 at all;
  // what is read must at least parse into sane prefixes.
  for (const auto& r : host_routes_v4()) EXPECT_LE(r.prefix(), 32u);
}

}  // namespace
}  // namespace tiffin::net

namespace tiffin::net {
namespace {

TEST(NetDev, SumsAllButLoopback) {
  const char* text =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
      "    lo:   10000      10    0    0    0     0          0         0    10000      10    0    0    0     0       0          0\n"
      "  eth0:    1500      12    0    0    0     0          0         0      700       9    0    0    0     0       0          0\n"
      "  eth1:      20       1    0    0    0     0          0         0       30       1    0    0    0     0       0          0\n"
      "  bad: x\n";
  auto io = parse_net_dev(text);
  EXPECT_EQ(io.rx_bytes, 1520u);
  EXPECT_EQ(io.tx_bytes, 730u);
}

}  // namespace
}  // namespace tiffin::net
