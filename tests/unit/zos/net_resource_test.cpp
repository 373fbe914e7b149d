// Zero-OS network resources from JSON and flags: keys (base64, X25519 checked against wg's own
// output), peers, and the errors users see.
#include "zos/net_resource.hpp"

#include <gtest/gtest.h>

namespace tiffin::zos {
namespace {

using json = nlohmann::json;

// `echo MDGK… | wg pubkey` prints MJFT….
constexpr const char* kPrivate = "MDGKcquX1O7M+M3OLzlNLz3MvE3FQC49qkma9z8oCFY=";
constexpr const char* kPublic = "MJFTJCfZGCSbPnWx+DqTRphiuPxoQKreCDNp8LJYrD4=";
constexpr const char* kPeer = "LRmrdcgEbOdsv9+gmAOsX9dzQPIClX8v0C4NXaOgs0I=";

TEST(WgKeys, DeriveAsWgDoes) {
  auto priv = parse_wg_key(kPrivate, "k");
  ASSERT_TRUE(priv) << priv.error().message;
  EXPECT_EQ(wg_key_base64(*priv), kPrivate);
  EXPECT_EQ(wg_key_base64(wg_public_key(*priv)), kPublic);
  for (const char* bad : {"", "AAAA", "MDGKcquX1O7M+M3OLzlNLz3MvE3FQC49qkma9z8oCFY", "MDGKcquX1O7M+M3OLzlNLz3MvE3FQC49qkma9z8oCF!="}) {
    auto k = parse_wg_key(bad, "the key");
    ASSERT_FALSE(k) << bad;
    EXPECT_NE(k.error().message.find("the key is not a WireGuard key"), std::string::npos);
  }
  auto pair = wg_keygen();
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->first[0] & 7, 0) << "clamped";
  EXPECT_EQ(pair->first[31] & 0xc0, 0x40);
  EXPECT_EQ(wg_public_key(pair->first), pair->second);
  EXPECT_NE(wg_keygen()->first, pair->first);
}

TEST(PeerFlag, ParsesKeysListsAndDefaults) {
  auto p = parse_peer_flag(
      std::string("pubkey=") + kPeer + ",subnet=10.20.4.0/24,allowed-ips=10.20.4.0/24,100.64.20.4/32,endpoint=192.0.2.4:51820");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->public_key_b64, kPeer);
  ASSERT_EQ(p->allowed_ips.size(), 2u);
  EXPECT_EQ(p->allowed_ips[1].str(), "100.64.20.4/32");
  EXPECT_EQ(p->endpoint->str(), "192.0.2.4:51820");
  auto d = parse_peer_flag(std::string("subnet=10.20.9.0/24,pubkey=") + kPeer);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->endpoint);
  ASSERT_EQ(d->allowed_ips.size(), 2u) << "Zero-OS's: the subnet and the peer's routing address";
  EXPECT_EQ(d->allowed_ips[0].str(), "10.20.9.0/24");
  EXPECT_EQ(d->allowed_ips[1].str(), "100.64.20.9/32");
  for (auto [flag, message] : std::initializer_list<std::pair<std::string, const char*>>{
           {"subnet=10.20.4.0/24", "no pubkey="},
           {std::string("pubkey=") + kPeer, "no subnet="},
           {std::string("pubkey=") + kPeer + ",subnet=10.20.4.0/24,colour=red", "unknown key 'colour'"},
           {std::string("pubkey=") + kPeer + ",subnet=10.20.4.0/24,stray", "is not key=value"},
           {std::string("pubkey=") + kPeer + ",subnet=10.20.4.1/24", "--peer"},
           {std::string("pubkey=") + kPeer + ",subnet=10.20.4.0/24,endpoint=peer.example:1", "not a numeric IP address"},
       }) {
    auto bad = parse_peer_flag(flag);
    ASSERT_FALSE(bad) << flag;
    EXPECT_NE(bad.error().message.find(message), std::string::npos) << bad.error().message;
  }
}

json resource() {
  return {{"name", "zosnet"}, {"net_id", "net-7"}, {"ip_range", "10.20.0.0/16"}, {"subnet", "10.20.3.0/24"}, {"wg_private_key", kPrivate},
      {"wg_public_key", kPublic}, {"wg_listen_port", 51820},
      {"peers",
          {{{"subnet", "10.20.4.0/24"}, {"wg_public_key", kPeer}, {"allowed_ips", {"10.20.4.0/24"}}, {"endpoint", "192.0.2.4:51820"}}}}};
}

TEST(NetResource, ReadsZeroOsJson) {
  auto s = parse_net_resource(resource(), "");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->name, "zosnet");
  EXPECT_EQ(s->net_id, "net-7");
  EXPECT_EQ(s->subnet.str(), "10.20.3.0/24");
  EXPECT_EQ(s->listen_port, 51820);
  EXPECT_EQ(s->public_key_b64, kPublic);
  ASSERT_EQ(s->peers.size(), 1u);
  EXPECT_EQ(s->peers[0].public_key_b64, kPeer);
  EXPECT_EQ(parse_net_resource(resource(), "local")->name, "local") << "the command line's name wins";
  json no_id = resource();
  no_id.erase("net_id");
  EXPECT_EQ(parse_net_resource(no_id, "")->net_id, "zosnet") << "the name stands in for the id";
  json no_pub = resource();
  no_pub.erase("wg_public_key");
  EXPECT_EQ(parse_net_resource(no_pub, "")->public_key_b64, kPublic) << "derived";
}

TEST(NetResource, NamesWhatIsWrong) {
  auto bad = [](json j, const char* message) {
    auto s = parse_net_resource(j, "");
    ASSERT_FALSE(s) << message;
    EXPECT_EQ(s.error().kind, Errc::invalid_input);
    EXPECT_NE(s.error().message.find(message), std::string::npos) << s.error().message;
  };
  bad(json::array(), "JSON object");
  json j = resource();
  j["wg_public_key"] = kPeer;
  bad(j, "is not the private key's");
  j = resource();
  j["wg_listen_port"] = "51820";
  bad(j, "wg_listen_port: expected");
  j = resource();
  j["wg_listen_port"] = 70000;
  bad(j, "is not a port");
  j = resource();
  j.erase("subnet");
  bad(j, "ip_range and subnet are required");
  j = resource();
  j["peers"][0]["wg_public_key"] = "nope";
  bad(j, "peers[0].wg_public_key is not a WireGuard key");
  j = resource();
  j["peers"][0]["allowed_ips"] = {7};
  bad(j, "peers[0].allowed_ips[0]: expected a string");
  j = resource();
  j["peers"][0]["subnet"] = "10.99.4.0/24";
  bad(j, "inside the network's range");
  j = resource();
  j.erase("wg_private_key");
  bad(j, "private key is missing");
}

}  // namespace
}  // namespace tiffin::zos
