// Published ports, masquerade and internal networks with real packets, as root, entirely inside
// namespaces the test makes:
//
//   client (192.168.77.2, fd77::2) ── veth ── host (192.168.77.1, fd77::1 on up0; bridges)
//   host: tfbr0 "web" 10.88.0.1/24 fd88::1/64 ── ctr (10.88.0.2, fd88::2)
//         tfbr1 "secret" (internal) 10.89.0.1/24 ── ictr (10.89.0.2)
//
// "host" stands in for the machine: its tiffin table, ip_forward and route_localnet are the
// test's own. Listeners run in the namespaces; every connection reports the source address the
// listener saw, which shows whether the packet was masqueraded.
#include <gtest/gtest.h>

#include <vector>

#include "net/netns.hpp"
#include "net/nft_ruleset.hpp"
#include "net/nftables.hpp"
#include "net/scratch_netns.hpp"

namespace tiffin::net {
namespace {

using test::cidr;
using test::ip;
using test::ScratchNetns;
using Proto = PortMapping::Proto;

class NftPackets : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::running_as_root()) GTEST_SKIP() << "needs root (network namespaces)";
    for (auto* ns : {&host, &client, &ctr, &ictr}) ASSERT_TRUE(ns->ok());
    Netlink& h = host.nl();
    // The host's uplink to the client, which holds "the host's address".
    ASSERT_TRUE(h.create_veth("up0", "eth0", client.fd()));
    ASSERT_TRUE(h.set_up("up0"));
    ASSERT_TRUE(client.nl().set_up("eth0"));
    ASSERT_TRUE(h.add_address("up0", cidr("192.168.77.1/24")));
    ASSERT_TRUE(h.add_address("up0", cidr("fd77::1/64")));
    ASSERT_TRUE(client.nl().add_address("eth0", cidr("192.168.77.2/24")));
    ASSERT_TRUE(client.nl().add_address("eth0", cidr("fd77::2/64")));
    // The client knows nothing of the bridges' subnets: it reaches containers only through the
    // host's published ports.
    attach(ctr, "tfbr0", "tfv0", "10.88.0", "fd88::");
    attach(ictr, "tfbr1", "tfv1", "10.89.0", nullptr);
    host.sysctl("net/ipv4/ip_forward", "1");
    host.sysctl("net/ipv6/conf/all/forwarding", "1");
    host.sysctl("net/ipv4/conf/tfbr0/route_localnet", "1");
    ASSERT_TRUE(h.set_hairpin("tfv0", true));
    ASSERT_TRUE(apply(nft_ruleset(networks, ports)));
  }

  // A bridge with .1 in the host, and a container namespace whose eth0 is .2 behind it.
  void attach(ScratchNetns& c, const std::string& bridge, const std::string& veth, const std::string& prefix4, const char* prefix6) {
    Netlink& h = host.nl();
    ASSERT_TRUE(h.create_bridge(bridge));
    // Without DAD on the bridge: while its link-local address is tentative (a second or two
    // after it comes up), the host cannot resolve a container's IPv6 address, so traffic that
    // the host starts towards a new container (a published port from outside) stalls.
    host.sysctl("net/ipv6/conf/" + bridge + "/accept_dad", "0");
    ASSERT_TRUE(h.create_veth(veth, "eth0", c.fd()));
    ASSERT_TRUE(h.set_master(veth, bridge));
    for (const auto& link : {bridge, veth}) ASSERT_TRUE(h.set_up(link));
    ASSERT_TRUE(c.nl().set_up("eth0"));
    ASSERT_TRUE(h.add_address(bridge, cidr((prefix4 + ".1/24").c_str())));
    ASSERT_TRUE(c.nl().add_address("eth0", cidr((prefix4 + ".2/24").c_str())));
    if (prefix6) {
      ASSERT_TRUE(h.add_address(bridge, cidr((std::string(prefix6) + "1/64").c_str())));
      ASSERT_TRUE(c.nl().add_address("eth0", cidr((std::string(prefix6) + "2/64").c_str())));
    }
    ASSERT_TRUE(c.nl().add_default_route(ip((prefix4 + ".1").c_str()), "eth0"));
    if (prefix6) {
      ASSERT_TRUE(c.nl().add_default_route(ip((std::string(prefix6) + "1").c_str()), "eth0"));
    }
  }

  Result<void> apply(const std::string& commands) {
    return run_in_netns(host.path(), [&] { return nft_apply(commands); });
  }

  ScratchNetns host, client, ctr, ictr;
  std::vector<BridgeNetworkRules> networks = {{"web", "tfbr0", *Cidr::parse("10.88.0.0/24", true), *Cidr::parse("fd88::/64", true), false},
      {"secret", "tfbr1", *Cidr::parse("10.89.0.0/24", true), std::nullopt, true}};
  std::vector<PortMapping> ports = {{Proto::tcp, std::nullopt, 8080, ip("10.88.0.2"), 80},
      {Proto::udp, std::nullopt, 5353, ip("10.88.0.2"), 53}, {Proto::tcp, ip("192.168.77.1"), 9090, ip("10.88.0.2"), 90},
      {Proto::tcp, std::nullopt, 8080, ip("fd88::2"), 80}, {Proto::tcp, std::nullopt, 8181, ip("10.89.0.2"), 81}};
};

TEST_F(NftPackets, PublishedPortFromOutsideKeepsTheClientsAddress) {
  UniqueFd web = test::tcp_listen(ctr, ip("10.88.0.2"), 80);
  EXPECT_EQ(test::tcp_exchange(client, ip("192.168.77.1"), 8080, web.get()), ip("192.168.77.2"));
  UniqueFd web6 = test::tcp_listen(ctr, ip("fd88::2"), 80);
  EXPECT_EQ(test::tcp_exchange(client, ip("fd77::1"), 8080, web6.get()), ip("fd77::2"));
  UniqueFd dns = test::udp_bind(ctr, ip("10.88.0.2"), 53);
  EXPECT_EQ(test::udp_exchange(client, ip("192.168.77.1"), 5353, dns.get()), ip("192.168.77.2"));
}

TEST_F(NftPackets, PublishedPortOnASpecificHostAddressOnly) {
  UniqueFd svc = test::tcp_listen(ctr, ip("10.88.0.2"), 90);
  EXPECT_EQ(test::tcp_exchange(client, ip("192.168.77.1"), 9090, svc.get()), ip("192.168.77.2"));
  // The same port on another host address is not published.
  EXPECT_EQ(test::tcp_exchange(host, ip("127.0.0.1"), 9090, svc.get()), std::nullopt);
}

TEST_F(NftPackets, FromTheHostItselfThroughLoopbackAndItsOwnAddress) {
  UniqueFd web = test::tcp_listen(ctr, ip("10.88.0.2"), 80);
  // 127.0.0.1 is DNAT'ed into the bridge (route_localnet) and masqueraded to the bridge's address.
  EXPECT_EQ(test::tcp_exchange(host, ip("127.0.0.1"), 8080, web.get()), ip("10.88.0.1"));
  EXPECT_EQ(test::tcp_exchange(host, ip("192.168.77.1"), 8080, web.get()), ip("192.168.77.1"));
}

TEST_F(NftPackets, HairpinFromTheContainerToItself) {
  UniqueFd web = test::tcp_listen(ctr, ip("10.88.0.2"), 80);
  EXPECT_EQ(test::tcp_exchange(ctr, ip("192.168.77.1"), 8080, web.get()), ip("10.88.0.1"));
  EXPECT_EQ(test::tcp_exchange(ctr, ip("10.88.0.1"), 8080, web.get()), ip("10.88.0.1"));
  UniqueFd web6 = test::tcp_listen(ctr, ip("fd88::2"), 80);
  EXPECT_EQ(test::tcp_exchange(ctr, ip("fd77::1"), 8080, web6.get()), ip("fd88::1"));
}

TEST_F(NftPackets, OutboundIsMasqueraded) {
  UniqueFd out = test::tcp_listen(client, ip("192.168.77.2"), 7000);
  EXPECT_EQ(test::tcp_exchange(ctr, ip("192.168.77.2"), 7000, out.get()), ip("192.168.77.1"));
  UniqueFd out6 = test::tcp_listen(client, ip("fd77::2"), 7000);
  EXPECT_EQ(test::tcp_exchange(ctr, ip("fd77::2"), 7000, out6.get()), ip("fd77::1"));
  UniqueFd dns = test::udp_bind(client, ip("192.168.77.2"), 53);
  EXPECT_EQ(test::udp_exchange(ctr, ip("192.168.77.2"), 53, dns.get()), ip("192.168.77.1"));
}

TEST_F(NftPackets, InternalNetworksHaveNoWayOutOrIn) {
  UniqueFd out = test::tcp_listen(client, ip("192.168.77.2"), 7000);
  EXPECT_EQ(test::tcp_exchange(ictr, ip("192.168.77.2"), 7000, out.get()), std::nullopt);
  UniqueFd web = test::tcp_listen(ctr, ip("10.88.0.2"), 80);
  EXPECT_EQ(test::tcp_exchange(ictr, ip("10.88.0.2"), 80, web.get()), std::nullopt);
  // Not even through a published port.
  UniqueFd secret = test::tcp_listen(ictr, ip("10.89.0.2"), 81);
  EXPECT_EQ(test::tcp_exchange(client, ip("192.168.77.1"), 8181, secret.get()), std::nullopt);
  // The host's own address on the bridge is still there for it (no forwarding involved).
  UniqueFd gateway = test::tcp_listen(host, ip("10.89.0.1"), 7001);
  EXPECT_EQ(test::tcp_exchange(ictr, ip("10.89.0.1"), 7001, gateway.get()), ip("10.89.0.2"));
}

TEST_F(NftPackets, NetworksAreIsolatedFromEachOther) {
  // A second, non-internal network: its container cannot reach web's directly.
  ScratchNetns other;
  ASSERT_TRUE(other.ok());
  attach(other, "tfbr2", "tfv2", "10.90.0", nullptr);
  networks.push_back({"other", "tfbr2", *Cidr::parse("10.90.0.0/24", true), std::nullopt, false});
  ASSERT_TRUE(apply(nft_ruleset(networks, ports)));
  UniqueFd web = test::tcp_listen(ctr, ip("10.88.0.2"), 80);
  EXPECT_EQ(test::tcp_exchange(other, ip("10.88.0.2"), 80, web.get()), std::nullopt);
  // ... but through a published port it can.
  EXPECT_TRUE(test::tcp_exchange(other, ip("10.90.0.1"), 8080, web.get()));
  UniqueFd out = test::tcp_listen(client, ip("192.168.77.2"), 7000);
  EXPECT_EQ(test::tcp_exchange(other, ip("192.168.77.2"), 7000, out.get()), ip("192.168.77.1"));
}

TEST_F(NftPackets, PortsAddedAndDeletedIncrementally) {
  UniqueFd svc = test::tcp_listen(ctr, ip("10.88.0.2"), 70);
  std::vector<PortMapping> more = {{Proto::tcp, std::nullopt, 7070, ip("10.88.0.2"), 70}};
  EXPECT_EQ(test::tcp_exchange(client, ip("192.168.77.1"), 7070, svc.get()), std::nullopt);
  ASSERT_TRUE(apply(nft_add_ports(more)));
  EXPECT_EQ(test::tcp_exchange(client, ip("192.168.77.1"), 7070, svc.get()), ip("192.168.77.2"));
  ASSERT_TRUE(apply(nft_delete_ports(more)));
  EXPECT_EQ(test::tcp_exchange(client, ip("192.168.77.1"), 7070, svc.get()), std::nullopt);
}

}  // namespace
}  // namespace tiffin::net
