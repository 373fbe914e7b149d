// The nftables text tiffin generates: checked as text, and (as root) loaded into a private
// network namespace through libnftables and read back.
#include "net/nft_ruleset.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "net/netns.hpp"
#include "net/nftables.hpp"
#include "net/scratch_netns.hpp"

namespace tiffin::net {
namespace {

using test::ip;
using test::ScratchNetns;
using Proto = PortMapping::Proto;

Cidr subnet(const char* text) { return *Cidr::parse(text, true); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<BridgeNetworkRules> sample_networks() {
  return {{"web", "tfbr0", subnet("10.88.0.0/24"), subnet("fd88::/64"), false},
      {"secret", "tfbr1", subnet("10.89.0.0/24"), std::nullopt, true}};
}

std::vector<PortMapping> sample_ports() {
  return {{Proto::tcp, std::nullopt, 8080, ip("10.88.0.2"), 80}, {Proto::udp, std::nullopt, 5353, ip("10.88.0.2"), 53},
      {Proto::tcp, ip("192.168.77.1"), 9090, ip("10.88.0.2"), 90}, {Proto::tcp, ip("::"), 8080, ip("fd88::2"), 80},
      {Proto::tcp, ip("fd77::1"), 9091, ip("fd88::2"), 91}};
}

TEST(NftRuleset, ReplacesTheTableInOneTransaction) {
  std::string text = nft_ruleset({}, {});
  EXPECT_TRUE(text.starts_with("add table inet tiffin\ndelete table inet tiffin\ntable inet tiffin {\n")) << text;
  // Only tiffin's table is named.
  size_t tables = 0;
  for (size_t at = text.find("table "); at != std::string::npos; at = text.find("table ", at + 1)) {
    EXPECT_EQ(text.substr(at, 17), "table inet tiffin");
    ++tables;
  }
  EXPECT_EQ(tables, 3u);
}

TEST(NftRuleset, PortsGoToTheMapOfTheirFamilyAndHostAddress) {
  std::string text = nft_ruleset(sample_networks(), sample_ports());
  EXPECT_TRUE(contains(text,
      "map published_any4 {\n    type inet_proto . inet_service : ipv4_addr . inet_service\n"
      "    elements = { tcp . 8080 : 10.88.0.2 . 80, udp . 5353 : 10.88.0.2 . 53 }\n"))
      << text;
  EXPECT_TRUE(contains(text, "elements = { tcp . 8080 : fd88::2 . 80 }")) << text;
  EXPECT_TRUE(contains(text, "elements = { 192.168.77.1 . tcp . 9090 : 10.88.0.2 . 90 }")) << text;
  EXPECT_TRUE(contains(text, "elements = { fd77::1 . tcp . 9091 : fd88::2 . 91 }")) << text;
  // DNAT for the host's own addresses, from outside and containers (prerouting) and from the host
  // itself (output).
  EXPECT_TRUE(contains(text, "type nat hook prerouting priority dstnat; policy accept;\n    fib daddr type local jump published\n"));
  EXPECT_TRUE(contains(text, "type nat hook output priority -100; policy accept;\n    fib daddr type local jump published\n"));
  EXPECT_TRUE(contains(text,
      "dnat ip to ip daddr . meta l4proto . th dport map @published_at4\n    dnat ip to meta l4proto . th dport map @published_any4"));
}

TEST(NftRuleset, MasqueradeAndForwardingPerNetwork) {
  std::string text = nft_ruleset(sample_networks(), {});
  // web: 127.0.0.1 into the bridge, hairpin, outbound for both families.
  EXPECT_TRUE(contains(text, "oifname \"tfbr0\" ip saddr 127.0.0.0/8 ct status dnat masquerade comment \"web\""));
  EXPECT_TRUE(contains(text, "oifname \"tfbr0\" ip saddr 10.88.0.0/24 ip daddr 10.88.0.0/24 ct status dnat masquerade"));
  EXPECT_TRUE(contains(text, "oifname != \"tfbr0\" ip saddr 10.88.0.0/24 masquerade"));
  EXPECT_TRUE(contains(text, "oifname != \"tfbr0\" ip6 saddr fd88::/64 masquerade"));
  EXPECT_TRUE(contains(text, "oifname \"tfbr0\" ip6 saddr fd88::/64 ip6 daddr fd88::/64 ct status dnat masquerade"));
  // secret is internal: no way out, and its drops come before any accept.
  EXPECT_FALSE(contains(text, "oifname != \"tfbr1\" ip saddr 10.89.0.0/24 masquerade"));
  size_t drop_out = text.find("iifname \"tfbr1\" oifname != \"tfbr1\" drop");
  size_t drop_in = text.find("oifname \"tfbr1\" iifname != \"tfbr1\" drop");
  size_t accept = text.find("ct state established,related accept");
  ASSERT_NE(drop_out, std::string::npos);
  ASSERT_NE(drop_in, std::string::npos);
  EXPECT_LT(drop_out, accept);
  EXPECT_LT(drop_in, accept);
  EXPECT_LT(accept, text.find("ct status dnat accept"));
  EXPECT_TRUE(contains(text, "iifname \"tfbr0\" oifname != \"tfbr0\" oifname @bridges drop comment \"web\""));
  EXPECT_TRUE(contains(text, "elements = { \"tfbr0\", \"tfbr1\" }"));
  EXPECT_TRUE(contains(text, "type filter hook forward priority filter; policy accept;"));
  EXPECT_TRUE(contains(text, "type nat hook postrouting priority srcnat; policy accept;"));
}

TEST(NftRuleset, ABridgeWithoutHostAccessOpensNoConnectionToTheNode) {
  EXPECT_FALSE(contains(nft_ruleset(sample_networks(), {}), "hook input")) << "no input chain unless asked";
  std::vector<BridgeNetworkRules> nets = {{"zos-ndmz", "nd-1", subnet("100.127.0.0/16"), std::nullopt, false, true}};
  std::string text = nft_ruleset(nets, {});
  size_t input = text.find("type filter hook input priority filter; policy accept;");
  ASSERT_NE(input, std::string::npos);
  size_t accept = text.find("iifname \"nd-1\" ct state established,related accept", input);
  size_t drop = text.find("iifname \"nd-1\" drop comment \"zos-ndmz\"", input);
  ASSERT_NE(accept, std::string::npos);
  ASSERT_NE(drop, std::string::npos);
  EXPECT_LT(accept, drop);
  EXPECT_TRUE(contains(text, "oifname != \"nd-1\" ip saddr 100.127.0.0/16 masquerade")) << "its way out stays";
}

TEST(NftRuleset, BadInputIsLeftOutAndCannotInject) {
  std::vector<BridgeNetworkRules> nets = {{"evil\" drop; #", "tfbr0", subnet("10.88.0.0/24"), std::nullopt, false},
      {"ok", "tf\"br", subnet("10.90.0.0/24"), std::nullopt, false}, {"v6in4", "tfbr2", subnet("fd00::/64"), std::nullopt, false}};
  for (const auto& n : nets) EXPECT_EQ(check_network_rules(n).error().kind, Errc::invalid_input) << n.name;
  std::vector<PortMapping> ports = {{Proto::tcp, ip("fd00::1"), 80, ip("10.88.0.2"), 80},
      {Proto::tcp, std::nullopt, 0, ip("10.88.0.2"), 80}, {Proto::tcp, std::nullopt, 80, ip("0.0.0.0"), 80}};
  for (const auto& p : ports) EXPECT_EQ(check_port_mapping(p).error().kind, Errc::invalid_input);
  std::string text = nft_ruleset(nets, ports);
  EXPECT_FALSE(contains(text, "10.88.0")) << text;
  EXPECT_FALSE(contains(text, "10.90.0")) << text;
  EXPECT_FALSE(contains(text, "fd00::")) << text;
  EXPECT_FALSE(contains(text, "evil")) << text;
  // A second mapping of a key already mapped is left out, whatever its destination.
  std::vector<PortMapping> twice = {
      {Proto::tcp, std::nullopt, 8080, ip("10.88.0.2"), 80}, {Proto::tcp, std::nullopt, 8080, ip("10.88.0.3"), 80}};
  EXPECT_FALSE(contains(nft_ruleset({}, twice), "10.88.0.3"));
}

TEST(NftRuleset, IncrementalPortsTouchOnlyMapElements) {
  std::vector<PortMapping> ports = {
      {Proto::udp, ip("0.0.0.0"), 53, ip("10.88.0.2"), 5353}, {Proto::tcp, ip("127.0.0.1"), 8080, ip("10.88.0.2"), 80}};
  EXPECT_EQ(nft_add_ports(ports),
      "add element inet tiffin published_any4 { udp . 53 : 10.88.0.2 . 5353 }\n"
      "add element inet tiffin published_at4 { 127.0.0.1 . tcp . 8080 : 10.88.0.2 . 80 }\n");
  EXPECT_EQ(nft_delete_ports(ports), nft_add_ports(ports) +
                                         "delete element inet tiffin published_any4 { udp . 53 : 10.88.0.2 . 5353 }\n"
                                         "delete element inet tiffin published_at4 { 127.0.0.1 . tcp . 8080 : 10.88.0.2 . 80 }\n");
  EXPECT_EQ(nft_add_ports({}), "");
}

// nft itself accepts the text: loaded into a namespace of the test's own, read back, replaced,
// and changed incrementally.
TEST(NftRuleset, NftLoadsItInAPrivateNamespace) {
  REQUIRE_ROOT();
  ScratchNetns ns;
  ASSERT_TRUE(ns.ok());
  auto in_ns = [&](auto fn) { return run_in_netns(ns.path(), fn); };
  std::string listed;
  auto applied = in_ns([&]() -> Result<void> {
    auto missing = nft_list_table();
    EXPECT_EQ(missing.error().kind, Errc::not_found) << missing.error().message;
    TRY(nft_apply(nft_ruleset(sample_networks(), sample_ports())));
    TRY(nft_apply(nft_ruleset(sample_networks(), sample_ports())));  // replacing works too
    listed = TRY(nft_list_table());
    return {};
  });
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(contains(listed, "192.168.77.1 . tcp . 9090 : 10.88.0.2 . 90")) << listed;
  EXPECT_TRUE(contains(listed, "fib daddr type local jump published")) << listed;
  EXPECT_TRUE(contains(listed, "oifname != \"tfbr0\" ip6 saddr fd88::/64 masquerade")) << listed;
  // Nothing reached the host's own nftables.
  auto host = nft_list_table();
  if (host) {
    EXPECT_FALSE(contains(*host, "10.88.0.2")) << "the host has a tiffin table with the test's ports";
  }

  std::vector<PortMapping> more = {{Proto::tcp, std::nullopt, 7000, ip("10.88.0.5"), 70}};
  std::vector<PortMapping> clash = {{Proto::tcp, std::nullopt, 7000, ip("10.88.0.6"), 70}};
  auto changed = in_ns([&]() -> Result<void> {
    TRY(nft_apply(nft_add_ports(more)));
    TRY(nft_apply(nft_add_ports(more)));  // the same again: nothing to do
    auto taken = nft_apply(nft_add_ports(clash));
    EXPECT_FALSE(taken);
    if (!taken) {
      EXPECT_TRUE(contains(taken.error().message, "File exists")) << taken.error().message;
    }
    auto not_ours = nft_apply(nft_delete_ports(clash));  // another container's port stays
    EXPECT_FALSE(not_ours);
    // One transaction: a failing element takes the good one before it down with it.
    std::vector<PortMapping> half = {{Proto::udp, std::nullopt, 7001, ip("10.88.0.7"), 71}, clash[0]};
    EXPECT_FALSE(nft_apply(nft_add_ports(half)));
    listed = TRY(nft_list_table());
    EXPECT_TRUE(contains(listed, "tcp . 7000 : 10.88.0.5 . 70")) << listed;
    TRY(nft_apply(nft_delete_ports(more)));
    TRY(nft_apply(nft_delete_ports(more)));  // already gone: no error
    listed = TRY(nft_list_table(true));
    return {};
  });
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_FALSE(contains(listed, "10.88.0.5"));
  EXPECT_FALSE(contains(listed, "10.88.0.7"));
  EXPECT_TRUE(contains(listed, "\"nftables\"")) << listed;  // JSON

  auto removed = in_ns([]() -> Result<void> {
    TRY(nft_apply(nft_delete_table()));
    TRY(nft_apply(nft_delete_table()));  // not there: no error
    auto gone = nft_list_table();
    EXPECT_EQ(gone.error().kind, Errc::not_found);
    return {};
  });
  ASSERT_TRUE(removed) << removed.error().message;

  auto bad = in_ns([] { return nft_apply("add rule inet tiffin nosuchchain accept\n"); });
  ASSERT_FALSE(bad);
  EXPECT_TRUE(contains(bad.error().message, "applying nftables rules: Error:")) << bad.error().message;
  EXPECT_TRUE(contains(bad.error().message, "nosuchchain")) << bad.error().message;
}

}  // namespace
}  // namespace tiffin::net
