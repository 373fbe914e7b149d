// rtnetlink through Netlink, as root, in namespaces the test makes (a "host" with a bridge and a
// "container" whose eth0 is the veth peer), so nothing touches the machine's own network.
#include "net/netlink.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "net/netns.hpp"
#include "net/scratch_netns.hpp"

namespace tiffin::net {
namespace {

using test::cidr;
using test::ip;
using test::ScratchNetns;

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(Netlink, RefusesBadNamesBeforeAskingTheKernel) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  for (const char* bad : {"", "a-name-longer-than-15", "a/b", "a b"}) {
    auto made = nl->create_bridge(bad);
    ASSERT_FALSE(made) << bad;
    EXPECT_EQ(made.error().kind, Errc::invalid_input) << bad;
    EXPECT_NE(made.error().message.find("creating bridge"), std::string::npos);
  }
}

TEST(Netlink, OpenInAMissingNamespaceNamesIt) {
  auto nl = Netlink::open_in("/nonexistent/netns");
  ASSERT_FALSE(nl);
  EXPECT_EQ(nl.error().kind, Errc::not_found);
  EXPECT_NE(nl.error().message.find("/nonexistent/netns"), std::string::npos);
}

TEST(Netlink, BridgeVethAddressesRoutesAndTraffic) {
  REQUIRE_ROOT();
  ScratchNetns host, ctr;
  ASSERT_TRUE(host.ok() && ctr.ok());
  Netlink& h = host.nl();
  Netlink& c = ctr.nl();
  auto before = h.link_names();
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_EQ(*before, std::vector<std::string>{"lo"});

  ASSERT_TRUE(h.create_bridge("tfbr0", 1450));
  auto again = h.create_bridge("tfbr0");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, Errc::conflict);
  EXPECT_EQ(again.error().message.substr(0, 35), "creating bridge tfbr0: File exists");

  // The peer is born in the container's namespace as eth0.
  auto veth = h.create_veth("tfv0", "eth0", ctr.fd(), 1450);
  ASSERT_TRUE(veth) << veth.error().message;
  EXPECT_TRUE(*h.link_exists("tfv0"));
  EXPECT_FALSE(*h.link_exists("eth0"));
  EXPECT_TRUE(*c.link_exists("eth0"));
  // The bridge keeps its own MAC when a port with a lower one joins.
  auto bridge_mac = h.get_mac("tfbr0");
  ASSERT_TRUE(bridge_mac) << bridge_mac.error().message;
  EXPECT_EQ((*bridge_mac)[0] & 0x03, 0x02);  // unicast, locally administered
  ASSERT_TRUE(h.set_mac("tfv0", {0x02, 0, 0, 0, 0, 1}));
  ASSERT_TRUE(h.set_master("tfv0", "tfbr0"));
  EXPECT_EQ(*h.get_mac("tfbr0"), *bridge_mac);
  auto hairpin = h.set_hairpin("tfv0", true);
  ASSERT_TRUE(hairpin) << hairpin.error().message;
  EXPECT_NE(host.sh("bridge -d link show dev tfv0").find("hairpin on"), std::string::npos);
  ASSERT_TRUE(h.set_hairpin("tfv0", false));
  EXPECT_NE(host.sh("bridge -d link show dev tfv0").find("hairpin off"), std::string::npos);

  std::array<uint8_t, 6> mac{0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
  ASSERT_TRUE(c.set_mac("eth0", mac));
  EXPECT_EQ(*c.get_mac("eth0"), mac);
  ASSERT_TRUE(c.set_mtu("eth0", 1400));
  auto tiny = c.set_mtu("eth0", 10);
  ASSERT_FALSE(tiny);
  EXPECT_NE(tiny.error().message.find("setting the MTU of eth0 to 10: Invalid argument ("), std::string::npos) << tiny.error().message;
  EXPECT_NE(ctr.sh("ip -o link show dev eth0").find("mtu 1400"), std::string::npos);

  ASSERT_TRUE(h.add_address("tfbr0", cidr("10.99.0.1/24")));
  auto v6 = h.add_address("tfbr0", cidr("fd99::1/64"));
  ASSERT_TRUE(v6) << v6.error().message;
  auto dup = h.add_address("tfbr0", cidr("10.99.0.1/24"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind, Errc::conflict);
  ASSERT_TRUE(c.add_address("eth0", cidr("10.99.0.2/24")));
  ASSERT_TRUE(c.add_address("eth0", cidr("fd99::2/64")));
  for (auto* link : {"tfbr0", "tfv0"}) ASSERT_TRUE(h.set_up(link));
  ASSERT_TRUE(c.set_up("eth0"));
  auto route = c.add_default_route(ip("10.99.0.1"), "eth0");
  ASSERT_TRUE(route) << route.error().message;
  ASSERT_TRUE(c.add_default_route(ip("fd99::1"), "eth0"));
  ASSERT_TRUE(c.add_route(cidr("10.200.0.0/16"), ip("10.99.0.1"), "eth0"));
  std::string routes = ctr.sh("ip route show; ip -6 route show");
  EXPECT_NE(routes.find("default via 10.99.0.1 dev eth0"), std::string::npos) << routes;
  EXPECT_NE(routes.find("default via fd99::1 dev eth0"), std::string::npos) << routes;
  EXPECT_NE(routes.find("10.200.0.0/16 via 10.99.0.1 dev eth0"), std::string::npos) << routes;
  auto bad_route = c.add_route(cidr("10.201.0.0/16"), ip("10.99.0.1"), "nosuch0");
  ASSERT_FALSE(bad_route);
  EXPECT_EQ(bad_route.error().kind, Errc::not_found);
  EXPECT_NE(bad_route.error().message.find("nosuch0"), std::string::npos);
  // Not in the host netns: the route went where the socket lives.
  EXPECT_EQ(host.sh("ip route show").find("default"), std::string::npos);

  // Traffic both ways over v4 and (no DAD wait) v6; the counters move.
  LinkStats stats0 = *h.link_stats("tfv0");
  UniqueFd rx4 = test::udp_bind(host, ip("10.99.0.1"), 5353);
  UniqueFd rx6 = test::udp_bind(host, ip("fd99::1"), 5353);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(test::udp_exchange(ctr, ip("10.99.0.1"), 5353, rx4.get()), ip("10.99.0.2"));
  EXPECT_EQ(test::udp_exchange(ctr, ip("fd99::1"), 5353, rx6.get()), ip("fd99::2"));
  UniqueFd listener = test::tcp_listen(ctr, ip("10.99.0.2"), 8080);
  EXPECT_EQ(test::tcp_exchange(host, ip("10.99.0.2"), 8080, listener.get()), ip("10.99.0.1"));
  LinkStats stats1 = *h.link_stats("tfv0");
  EXPECT_GE(stats1.rx_packets, stats0.rx_packets + 6);  // what the container sent, the host side received
  EXPECT_GT(stats1.rx_bytes, stats0.rx_bytes);
  EXPECT_GT(stats1.tx_packets, stats0.tx_packets);
  LinkStats inside = *c.link_stats("eth0");
  EXPECT_GE(inside.tx_packets, 6u);

  // Deleting one end takes the pair; a second delete is not an error.
  ASSERT_TRUE(h.delete_link("tfv0"));
  ASSERT_TRUE(h.delete_link("tfv0"));
  EXPECT_FALSE(*c.link_exists("eth0"));
  ASSERT_TRUE(h.delete_link("tfbr0"));
  EXPECT_EQ(*h.link_names(), std::vector<std::string>{"lo"});
  EXPECT_EQ(*c.link_names(), std::vector<std::string>{"lo"});
  auto gone = h.link_stats("tfv0");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, Errc::not_found);
}

TEST(Netlink, VethWithBothEndsHere) {
  REQUIRE_ROOT();
  ScratchNetns ns;
  ASSERT_TRUE(ns.ok());
  ASSERT_TRUE(ns.nl().create_veth("tfa", "tfb", -1));
  auto names = *ns.nl().link_names();
  EXPECT_TRUE(has(names, "tfa") && has(names, "tfb"));
  auto clash = ns.nl().create_veth("tfa", "tfc", -1);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().kind, Errc::conflict);
  EXPECT_NE(clash.error().message.find("tfa"), std::string::npos);
  EXPECT_FALSE(*ns.nl().link_exists("tfc"));  // nothing half-made
}

TEST(Netlink, MacvlanMovesAndAddresses) {
  REQUIRE_ROOT();
  ScratchNetns host, ctr;
  ASSERT_TRUE(host.ok() && ctr.ok());
  Netlink& h = host.nl();
  Netlink& c = ctr.nl();
  ASSERT_TRUE(h.create_bridge("tfpub"));
  // Born in the other namespace under a name the first may have too.
  auto made = h.create_macvlan("pub", "tfpub", ctr.fd());
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_TRUE(*c.link_exists("pub"));
  EXPECT_FALSE(*h.link_exists("pub"));
  auto missing = h.create_macvlan("pub2", "nosuchparent", -1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);

  ASSERT_TRUE(c.add_address("pub", cidr("2001:db8:7::5/64")));
  ASSERT_TRUE(c.add_address("pub", cidr("10.7.0.5/24")));
  ASSERT_TRUE(c.set_up("pub"));
  auto v6 = c.addresses("pub", AF_INET6, true);
  ASSERT_TRUE(v6) << v6.error().message;
  ASSERT_EQ(v6->size(), 1u) << "global only: no link-local";
  EXPECT_EQ((*v6)[0].str(), "2001:db8:7::5/64");
  auto v4 = c.addresses("pub", AF_INET, false);
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].str(), "10.7.0.5/24");
  EXPECT_EQ(c.addresses("nosuch", AF_INET, false).error().kind, Errc::not_found);

  // A link moved to another namespace loses its addresses there and keeps its name.
  ASSERT_TRUE(h.create_veth("tfm0", "tfm1", -1));
  ASSERT_TRUE(h.move_to_netns("tfm1", ctr.fd()));
  EXPECT_TRUE(*c.link_exists("tfm1"));
  EXPECT_FALSE(*h.link_exists("tfm1"));
  ASSERT_TRUE(h.delete_link("tfm0"));
  EXPECT_FALSE(*c.link_exists("tfm1"));

  auto wg = h.create_wireguard("tfwg0");
  if (wg) EXPECT_TRUE(h.delete_link("tfwg0"));
  else EXPECT_EQ(wg.error().kind, Errc::unsupported) << "no module: " << wg.error().message;
}

}  // namespace
}  // namespace tiffin::net
