// A Zero-OS network resource's checks and the addresses and names Zero-OS derives (pure).
#include "net/zos_network.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tiffin::net {
namespace {

Cidr cidr(const char* s) { return *Cidr::parse(s, true); }
WgKey key(uint8_t fill) {
  WgKey k;
  k.fill(fill);
  return k;
}

ZosPeer peer(uint8_t k, const char* subnet, const char* endpoint = "192.0.2.1:51820") {
  ZosPeer p{cidr(subnet), key(k), "key" + std::to_string(k), {cidr(subnet)}, std::nullopt};
  if (endpoint) p.endpoint = *WgEndpoint::parse(endpoint);
  return p;
}

ZosNetworkSpec good() {
  return {"zosnet", "zosnet", cidr("10.20.0.0/16"), cidr("10.20.3.0/24"), key(1), "mine", 51820,
      {peer(2, "10.20.4.0/24"), peer(3, "10.20.5.0/24")}};
}

void refused(const ZosNetworkSpec& s, const std::string& message) {
  auto v = validate_zos_network(s);
  ASSERT_FALSE(v) << message;
  EXPECT_EQ(v.error().kind, Errc::invalid_input);
  EXPECT_NE(v.error().message.find(message), std::string::npos) << v.error().message;
}

TEST(ZosNetwork, ValidatesAsZeroOs) {
  EXPECT_TRUE(validate_zos_network(good()));
  auto s = good();
  s.ip_range = cidr("10.20.0.0/24");
  refused(s, "must be an IPv4 /16");
  s = good();
  s.subnet = cidr("10.20.3.0/25");
  refused(s, "must be an IPv4 /24");
  s = good();
  s.subnet = cidr("10.30.3.0/24");
  refused(s, "not inside the network's range");
  s = good();
  s.net_id = "has space";
  refused(s, "network id");
  s = good();
  s.private_key = {};
  refused(s, "private key");
  s = good();
  s.peers[1].subnet = s.peers[1].allowed_ips[0] = cidr("10.21.5.0/24");
  refused(s, "inside the network's range");
  s = good();
  s.peers[1].subnet = cidr("10.20.3.0/24");
  refused(s, "this node's own");
  s = good();
  s.peers[1].subnet = cidr("10.20.4.0/24");
  refused(s, "also peer 1's");
  s = good();
  s.peers[1].public_key = key(2);
  refused(s, "same public key");
  s = good();
  s.peers[1].public_key_b64 = "mine";
  refused(s, "this node's own");
  s = good();
  s.peers[1].allowed_ips = {cidr("10.20.4.128/25")};
  refused(s, "overlaps peer 1's");
  s = good();
  s.peers[1].allowed_ips = {cidr("10.20.0.0/16")};
  refused(s, "overlaps this node's subnet");
  s = good();
  s.peers[1].allowed_ips = {};
  refused(s, "no allowed IPs");
  // A peer without an endpoint dials us: only possible when we listen on a known port.
  s = good();
  s.peers[1].endpoint.reset();
  EXPECT_TRUE(validate_zos_network(s));
  s.listen_port = 0;
  refused(s, "needs an endpoint");
}

TEST(ZosNetwork, DerivesZeroOsAddresses) {
  EXPECT_EQ(zos_wg_address(cidr("10.20.3.0/24")).str(), "100.64.20.3/16");
  EXPECT_EQ(zos_wg_address(cidr("172.16.250.0/24")).str(), "100.64.16.250/16");
  // fd<n0>:<n1><n2>:<n3><n4>:<b3>::<b4>, n the id's first bytes: "zosnet" is 7a 6f 73 6e 65.
  EXPECT_EQ(zos_ula("zosnet", *IpAddress::parse("10.20.3.7")).str(), "fd7a:6f73:6e65:3::7");
  EXPECT_EQ(zos_ula_subnet("zosnet", cidr("10.20.3.0/24")).str(), "fd7a:6f73:6e65:3::/64");
  // A short id runs on into MD5("") = d4 1d 8c d9 8f…, as Zero-OS's Sum(netID) does; bytes
  // print without padding ("%x%x" of 0x0a 0x05 is "a5").
  EXPECT_EQ(zos_ula("ab", *IpAddress::parse("10.1.255.16")).str(), "fd61:62d4:1d8c:ff::10");
  EXPECT_EQ(zos_ula(std::string("\x0a\x0a\x05\x0b\x01", 5), *IpAddress::parse("10.1.2.3")).str(), "fda:a5:b1:2::3");
}

TEST(ZosNetwork, LinkNamesFitAndDifferPerRootAndNetwork) {
  std::set<std::string> all;
  for (const char* u : {"/var/lib/tiffin\nzosnet", "/tmp/a/root\nzosnet", "/var/lib/tiffin\nother"}) {
    auto n = zos_link_names(u);
    for (const auto& name : {n.bridge, n.host_nr, n.host_public, n.wireguard}) {
      EXPECT_LE(name.size(), 15u) << name;
      EXPECT_TRUE(all.insert(name).second) << name;
    }
  }
  EXPECT_EQ(zos_link_names("x").bridge, zos_link_names("x").bridge) << "stable";
}

TEST(ZosNetwork, TheResourcesFirewallIsADiode) {
  std::string r = zos_nr_ruleset();
  EXPECT_NE(r.find("delete table inet tiffin_nr"), std::string::npos) << "replaces what was there";
  EXPECT_NE(r.find("oifname \"public\" masquerade"), std::string::npos);
  EXPECT_NE(r.find("ct state { established, related } accept"), std::string::npos);
  // New connections through public are dropped in forward and input.
  size_t forward = r.find("chain forward"), input = r.find("chain input");
  EXPECT_NE(r.find("iifname \"public\" counter drop", forward), std::string::npos);
  EXPECT_NE(r.find("iifname \"public\" counter drop", input), std::string::npos);
}

}  // namespace
}  // namespace tiffin::net
