// WireGuard's UAPI text (pure), and as root a real wireguard-go driven through it: started,
// configured, read back and stopped, with nothing left.
#include "net/wireguard_uapi.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/netlink.hpp"
#include "net/netns.hpp"
#include "net/scratch_netns.hpp"
#include "net/wireguard_go.hpp"

namespace tiffin::net {
namespace {

using test::ScratchNetns;

WgKey key(uint8_t fill) {
  WgKey k;
  k.fill(fill);
  return k;
}

TEST(WgEndpoint, NumericAddressesOnly) {
  EXPECT_EQ(WgEndpoint::parse("192.0.2.1:51820")->str(), "192.0.2.1:51820");
  EXPECT_EQ(WgEndpoint::parse("[2001:db8::1]:7")->str(), "[2001:db8::1]:7");
  for (const char* bad : {"192.0.2.1", "host.example:51820", "2001:db8::1:7", "[2001:db8::1:7", "1.2.3.4:0", "1.2.3.4:65536", ":1"}) {
    auto e = WgEndpoint::parse(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().kind, Errc::invalid_input) << bad;
  }
}

TEST(UapiSet, AFreshDeviceGetsEverythingAndReplacesPeers) {
  WgDeviceConfig c{key(0x11), 51820, {{key(0x22), *WgEndpoint::parse("192.0.2.2:51820"), {*Cidr::parse("10.20.4.0/24", true)}, 20}}};
  EXPECT_EQ(uapi_set_request(c, nullptr),
      "set=1\nprivate_key=" + std::string(64, '1') + "\nlisten_port=51820\nreplace_peers=true\npublic_key=" + std::string(64, '2') +
          "\nendpoint=192.0.2.2:51820\npersistent_keepalive_interval=20\nreplace_allowed_ips=true\nallowed_ip=10.20.4.0/24\n\n");
}

TEST(UapiSet, ALiveDeviceKeepsItsOwnSettingsAndRemovesOnlyPeersThatWent) {
  WgDeviceStatus now;
  now.peers.push_back({key(0x22), {}, {}, 0, 0, 0});
  now.peers.push_back({key(0x33), {}, {}, 0, 0, 0});
  WgDeviceConfig c{key(0x11), 51820, {{key(0x22), std::nullopt, {*Cidr::parse("10.20.4.0/24", true)}, 0}}};
  std::string r = uapi_set_request(c, &now);
  EXPECT_EQ(r.find("private_key"), std::string::npos);
  EXPECT_EQ(r.find("listen_port"), std::string::npos);
  EXPECT_EQ(r.find("replace_peers"), std::string::npos);
  EXPECT_NE(r.find("public_key=" + std::string(64, '3') + "\nremove=true\n"), std::string::npos);
  EXPECT_EQ(r.find("public_key=" + std::string(64, '2') + "\nremove"), std::string::npos);
  EXPECT_TRUE(r.ends_with("allowed_ip=10.20.4.0/24\n\n"));
}

TEST(UapiGet, ParsesWireguardGosAnswer) {
  std::string answer = "private_key=" + std::string(64, 'a') + "\nlisten_port=51820\npublic_key=" + std::string(64, 'b') +
                       "\npreshared_key=" + std::string(64, '0') +
                       "\nprotocol_version=1\nendpoint=192.0.2.2:51820\nlast_handshake_time_sec=1796559857\n"
                       "last_handshake_time_nsec=5\ntx_bytes=272\nrx_bytes=180\npersistent_keepalive_interval=20\n"
                       "allowed_ip=10.20.4.0/24\nallowed_ip=100.64.20.4/32\nerrno=0\n\n";
  auto st = parse_uapi_get(answer);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->listen_port, 51820);
  ASSERT_EQ(st->peers.size(), 1u);
  EXPECT_EQ(st->peers[0].public_key, key(0xbb));
  EXPECT_EQ(st->peers[0].endpoint->str(), "192.0.2.2:51820");
  EXPECT_EQ(st->peers[0].last_handshake_sec, 1796559857);
  EXPECT_EQ(st->peers[0].rx_bytes, 180u);
  EXPECT_EQ(st->peers[0].tx_bytes, 272u);
  ASSERT_EQ(st->peers[0].allowed_ips.size(), 2u);
  EXPECT_EQ(st->peers[0].allowed_ips[1].str(), "100.64.20.4/32");
  EXPECT_FALSE(parse_uapi_get("listen_port=1\nerrno=1\n\n"));
  EXPECT_FALSE(parse_uapi_get("listen_port=1\n")) << "no errno: cut short";
  EXPECT_FALSE(parse_uapi_get("listen_port=x\nerrno=0\n\n"));
  EXPECT_FALSE(parse_uapi_get("public_key=12\nerrno=0\n\n"));
}

TEST(WireguardGo, StartsConfiguresAnswersAndStops) {
  REQUIRE_ROOT();
  if (::access("/usr/bin/wireguard-go", X_OK) != 0) GTEST_SKIP() << "wireguard-go is not installed";
  // Its TUN link is made in the caller's namespace: a scratch one, entered by this test's thread
  // through run_in_netns.
  ScratchNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string name = "w-unit" + std::to_string(::getpid() % 100000);
  ::mkdir("/var/run/wireguard", 0755);
  auto ran = run_in_netns(ns.path(), [&]() -> Result<void> {
    TRY(start_wireguard_go("wireguard-go", name, "/dev/null"));
    WgDeviceConfig c{key(0x48), 0, {{key(0x22), *WgEndpoint::parse("192.0.2.2:51820"), {*Cidr::parse("10.20.4.0/24", true)}, 0}}};
    TRY(uapi_set(name, c, nullptr));
    auto st = TRY(uapi_get(name));
    if (st.peers.size() != 1 || st.peers[0].public_key != key(0x22) || st.peers[0].allowed_ips.size() != 1)
      return fail(Errc::internal, "read back something else");
    auto here = TRY(Netlink::open());
    if (!TRY(here.link_exists(name))) return fail(Errc::internal, "no TUN link");
    return {};
  });
  EXPECT_TRUE(ran) << ran.error().message;
  EXPECT_TRUE(wireguard_go_alive(name));
  ASSERT_TRUE(stop_wireguard_go(name));
  EXPECT_FALSE(wireguard_go_alive(name));
  auto gone = uapi_get(name);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, Errc::unavailable);
  EXPECT_FALSE(*ns.nl().link_exists(name)) << "its TUN link goes with it";
  EXPECT_TRUE(stop_wireguard_go(name)) << "nothing to stop is no error";
}

}  // namespace
}  // namespace tiffin::net
