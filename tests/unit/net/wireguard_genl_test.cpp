// The kernel module's generic netlink messages, built and read without the module; and, where
// the kernel has it, a link configured and read back.
#include "net/wireguard_genl.hpp"

#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include <map>

#include "net/netlink.hpp"
#include "net/scratch_netns.hpp"

namespace tiffin::net {
namespace {

WgKey key(uint8_t fill) {
  WgKey k;
  k.fill(fill);
  return k;
}

WgDeviceConfig config() {
  return {key(1), 51820,
      {{key(2), *WgEndpoint::parse("192.0.2.2:51820"), {*Cidr::parse("10.20.4.0/24", true), *Cidr::parse("100.64.20.4/32", true)}, 20},
          {key(3), *WgEndpoint::parse("[2001:db8::3]:7"), {*Cidr::parse("fd00:1::/64", true)}, 0}}};
}

template <class Fn>
void walk(const void* start, const void* end, Fn fn) {
  int left = static_cast<int>(static_cast<const char*>(end) - static_cast<const char*>(start));
  for (auto* a = static_cast<const nlattr*>(start); mnl_attr_ok(a, left); a = mnl_attr_next(a)) {
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    fn(a);
  }
}
template <class Fn>
void nested(const nlattr* nest, Fn fn) {
  auto* p = static_cast<const char*>(mnl_attr_get_payload(nest));
  walk(p, p + mnl_attr_get_payload_len(nest), fn);
}

// The device-level attributes of a message, and each peer's flags, by public key's first byte.
struct Seen {
  bool private_key = false, replace_peers = false;
  std::map<uint8_t, uint32_t> peer_flags;
};
Seen look(const std::vector<uint8_t>& m) {
  Seen s;
  auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
  walk(mnl_nlmsg_get_payload_offset(nlh, sizeof(genlmsghdr)), mnl_nlmsg_get_payload_tail(nlh), [&](const nlattr* a) {
    if (mnl_attr_get_type(a) == WGDEVICE_A_PRIVATE_KEY) s.private_key = true;
    if (mnl_attr_get_type(a) == WGDEVICE_A_FLAGS) s.replace_peers = mnl_attr_get_u32(a) & WGDEVICE_F_REPLACE_PEERS;
    if (mnl_attr_get_type(a) != WGDEVICE_A_PEERS) return;
    nested(a, [&](const nlattr* peer) {
      uint8_t first = 0;
      uint32_t flags = 0;
      nested(peer, [&](const nlattr* f) {
        if (mnl_attr_get_type(f) == WGPEER_A_PUBLIC_KEY) first = static_cast<const uint8_t*>(mnl_attr_get_payload(f))[0];
        if (mnl_attr_get_type(f) == WGPEER_A_FLAGS) flags = mnl_attr_get_u32(f);
      });
      s.peer_flags[first] = flags;
    });
  });
  return s;
}

TEST(WgGenl, AFreshDeviceMessageReadsBackAsTheConfig) {
  auto m = wg_genl_set_message(0x1d, 7, "w-test", config(), nullptr);
  ASSERT_TRUE(m) << m.error().message;
  auto* nlh = reinterpret_cast<const nlmsghdr*>(m->data());
  EXPECT_EQ(nlh->nlmsg_type, 0x1d);
  EXPECT_EQ(nlh->nlmsg_seq, 7u);
  EXPECT_EQ(static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(nlh))->cmd, WG_CMD_SET_DEVICE);
  Seen s = look(*m);
  EXPECT_TRUE(s.private_key && s.replace_peers);
  EXPECT_EQ(s.peer_flags[2], uint32_t{WGPEER_F_REPLACE_ALLOWEDIPS});
  // A GET answer has the same layout: the message reads back as the device.
  std::vector<std::vector<uint8_t>> msgs{*m};
  auto st = parse_wg_genl_device(msgs);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->listen_port, 51820);
  ASSERT_EQ(st->peers.size(), 2u);
  EXPECT_EQ(st->peers[0].public_key, key(2));
  EXPECT_EQ(st->peers[0].endpoint->str(), "192.0.2.2:51820");
  ASSERT_EQ(st->peers[0].allowed_ips.size(), 2u);
  EXPECT_EQ(st->peers[0].allowed_ips[1].str(), "100.64.20.4/32");
  EXPECT_EQ(st->peers[1].endpoint->str(), "[2001:db8::3]:7");
  EXPECT_EQ(st->peers[1].allowed_ips[0].str(), "fd00:1::/64");
}

TEST(WgGenl, ALiveDeviceGetsOnlyItsPeersAndRemovals) {
  WgDeviceStatus now;
  now.peers.push_back({key(2), {}, {}, 0, 0, 0});
  now.peers.push_back({key(9), {}, {}, 0, 0, 0});
  auto m = wg_genl_set_message(0x1d, 1, "w-test", config(), &now);
  ASSERT_TRUE(m);
  Seen s = look(*m);
  EXPECT_FALSE(s.private_key);
  EXPECT_FALSE(s.replace_peers);
  EXPECT_EQ(s.peer_flags[9], uint32_t{WGPEER_F_REMOVE_ME});
  EXPECT_EQ(s.peer_flags[2], uint32_t{WGPEER_F_REPLACE_ALLOWEDIPS});
  EXPECT_EQ(s.peer_flags[3], uint32_t{WGPEER_F_REPLACE_ALLOWEDIPS});
}

TEST(WgGenl, APeerCutBetweenMessagesIsOne) {
  WgDeviceConfig first{key(1), 1, {{key(2), std::nullopt, {*Cidr::parse("10.0.0.0/24", true)}, 0}}};
  WgDeviceConfig second{key(1), 1, {{key(2), std::nullopt, {*Cidr::parse("10.0.1.0/24", true)}, 0}, {key(4), std::nullopt, {}, 0}}};
  std::vector<std::vector<uint8_t>> msgs{*wg_genl_set_message(1, 1, "w", first, nullptr), *wg_genl_set_message(1, 1, "w", second, nullptr)};
  auto st = parse_wg_genl_device(msgs);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->peers.size(), 2u);
  ASSERT_EQ(st->peers[0].allowed_ips.size(), 2u);
  EXPECT_EQ(st->peers[0].allowed_ips[1].str(), "10.0.1.0/24");
  std::vector<std::vector<uint8_t>> cut{std::vector<uint8_t>(msgs[0].begin(), msgs[0].begin() + 10)};
  EXPECT_FALSE(parse_wg_genl_device(cut));
}

TEST(WgGenl, TooManyAllowedIpsForOneMessageIsRefused) {
  WgDeviceConfig c{key(1), 1, {{key(2), std::nullopt, {}, 0}}};
  for (uint32_t i = 0; i < 5000; ++i) c.peers[0].allowed_ips.emplace_back(IpAddress::v4((10u << 24) | (i << 8)), 24);
  auto m = wg_genl_set_message(1, 1, "w", c, nullptr);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, Errc::invalid_input);
}

TEST(WgGenl, TheKernelsModuleWhereThereIsOne) {
  REQUIRE_ROOT();
  test::ScratchNetns ns;
  ASSERT_TRUE(ns.ok());
  auto made = ns.nl().create_wireguard("tfwg0");
  if (!made) {
    ASSERT_EQ(made.error().kind, Errc::unsupported) << made.error().message;
    auto get = wg_genl_get(ns.path(), "tfwg0");
    ASSERT_FALSE(get);
    EXPECT_EQ(get.error().kind, Errc::unsupported) << get.error().message;
    GTEST_SKIP() << "this kernel has no WireGuard module; the messages are checked above";
  }
  ASSERT_TRUE(wg_genl_set(ns.path(), "tfwg0", config(), nullptr));
  auto st = wg_genl_get(ns.path(), "tfwg0");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->listen_port, 51820);
  ASSERT_EQ(st->peers.size(), 2u);
  EXPECT_EQ(st->peers[0].allowed_ips.size(), 2u);
  ASSERT_TRUE(wg_genl_set(ns.path(), "tfwg0", WgDeviceConfig{key(1), 51820, {config().peers[1]}}, &*st));
  EXPECT_EQ(wg_genl_get(ns.path(), "tfwg0")->peers.size(), 1u);
}

}  // namespace
}  // namespace tiffin::net
