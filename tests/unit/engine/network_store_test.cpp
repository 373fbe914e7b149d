// Networks, leases and published ports in the state database: what IPAM promises without root.
#include "engine/network_store.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "engine/state_db.hpp"
#include "engine/zos_network_store.hpp"
#include "test_support.hpp"

namespace tiffin::engine {
namespace {

net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }
bool always_free(const net::PublishedPort&) { return true; }

class NetworkStoreTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  sql::Db db = *open_state_db(dir.path() + "/tiffin.db");
  NetworkStore store{db};
};

TEST_F(NetworkStoreTest, ChoosesSubnetsThatAvoidRoutesAndOtherNetworks) {
  int asked = 0;
  auto routes = [&] {
    ++asked;
    return std::vector<net::Cidr>{*net::Cidr::parse("10.88.0.0/16", true)};
  };
  auto def = store.ensure_default(routes);
  ASSERT_TRUE(def) << def.error().message;
  EXPECT_EQ(def->subnet.str(), "10.87.0.0/16") << "the host's route pushes it on";
  EXPECT_EQ(def->bridge, "tf-" + def->id.substr(0, 8));
  EXPECT_EQ(store.ensure_default(routes)->id, def->id) << "made once";
  EXPECT_EQ(asked, 1) << "the host's routes are read only to make it";
  EXPECT_EQ(store.find("bridge")->id, def->id) << "docker's name for it";
  auto a = *store.create({.name = "a"}, {*net::Cidr::parse("10.89.0.0/24", true)});
  EXPECT_EQ(a.subnet.str(), "10.89.1.0/24");
  EXPECT_EQ(a.gateway.str(), "10.89.1.1");
  auto b = *store.create({.name = "b"}, {});
  EXPECT_EQ(b.subnet.str(), "10.89.0.0/24");
  EXPECT_EQ(store.find(a.id.substr(0, 6))->name, "a");
  EXPECT_EQ(store.list()->size(), 3u);
}

TEST_F(NetworkStoreTest, RefusesOverlapsNamesAndBadAddressing) {
  ASSERT_TRUE(store.create({.name = "n1", .subnet = "172.30.0.0/16"}, {}));
  auto overlap = store.create({.name = "n2", .subnet = "172.30.5.0/24"}, {});
  ASSERT_FALSE(overlap);
  EXPECT_EQ(overlap.error().kind, Errc::conflict);
  EXPECT_NE(overlap.error().message.find("n1"), std::string::npos);
  EXPECT_EQ(store.create({.name = "n1", .subnet = "172.31.0.0/16"}, {}).error().kind, Errc::conflict);
  EXPECT_EQ(store.create({.name = "host"}, {}).error().kind, Errc::invalid_input);
  EXPECT_EQ(store.create({.name = "x", .driver = "macvlan"}, {}).error().kind, Errc::unsupported);
  EXPECT_EQ(store.create({.name = "x", .subnet = "172.29.0.1/16"}, {}).error().kind, Errc::invalid_input);
  EXPECT_EQ(store.create({.name = "x", .subnet = "172.29.0.0/16", .gateway = "172.28.0.1"}, {}).error().kind, Errc::invalid_input);
  EXPECT_EQ(store.create({.name = "x", .subnet = "172.29.0.0/16", .ip_range = "172.28.0.0/24"}, {}).error().kind, Errc::invalid_input);
  EXPECT_EQ(store.create({.name = "x", .subnet = "fd00::/64"}, {}).error().kind, Errc::invalid_input);
  auto v6 = store.create({.name = "v6", .ipv6 = true}, {});
  ASSERT_TRUE(v6);
  ASSERT_TRUE(v6->subnet6);
  EXPECT_EQ(v6->subnet6->prefix(), 64u);
  EXPECT_EQ(v6->subnet6->address().bytes()[0], 0xfd);
  EXPECT_EQ(store.list()->size(), 2u) << "nothing half made";
}

TEST_F(NetworkStoreTest, LeasesAddressesOnceAndReusesFreedOnes) {
  auto n = *store.create({.name = "small", .subnet = "10.50.0.0/29"}, {});
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) got.push_back(store.attach("c" + std::to_string(i), {"small"})->ip.str());
  EXPECT_EQ(got, (std::vector<std::string>{"10.50.0.2", "10.50.0.3", "10.50.0.4", "10.50.0.5", "10.50.0.6"}));
  auto full = store.attach("c5", {"small"});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().kind, Errc::unavailable);
  EXPECT_EQ(store.attach("c1", {"small"}).error().kind, Errc::conflict) << "once per network";
  auto held = *store.release("c2");
  ASSERT_EQ(held.endpoints.size(), 1u);
  EXPECT_EQ(held.endpoints[0].ip.str(), "10.50.0.4");
  EXPECT_EQ(store.attach("c5", {"small"})->ip.str(), "10.50.0.4");
  EXPECT_EQ(store.endpoints_on(n.id)->size(), 5u);
  EXPECT_EQ(store.remove(n.id).error().kind, Errc::conflict) << "in use";
}

TEST_F(NetworkStoreTest, FixedAddressesMacsAndInterfaceNames) {
  ASSERT_TRUE(store.create({.name = "n", .subnet = "10.60.0.0/24"}, {}));
  ASSERT_TRUE(store.create({.name = "m", .subnet = "10.61.0.0/24"}, {}));
  auto e = *store.attach("abcdef0123456789", {"n", ip("10.60.0.50"), {}, "", {"web"}});
  EXPECT_EQ(e.ip.str(), "10.60.0.50");
  EXPECT_EQ(e.mac, "02:42:0a:3c:00:32");
  EXPECT_EQ(e.ifname, "eth0");
  EXPECT_EQ(e.host_ifname, "tfabcdef01230");
  EXPECT_LE(e.host_ifname.size(), 15u);
  EXPECT_EQ(e.aliases, std::vector<std::string>{"web"});
  EXPECT_EQ(store.attach("other", {"n", ip("10.60.0.50")}).error().kind, Errc::conflict);
  EXPECT_EQ(store.attach("other", {"n", ip("10.60.0.1")}).error().kind, Errc::invalid_input) << "the gateway";
  EXPECT_EQ(store.attach("other", {"n", ip("10.99.0.5")}).error().kind, Errc::invalid_input);
  EXPECT_EQ(store.attach("other", {"n", {}, {}, "01:00:00:00:00:01"}).error().kind, Errc::invalid_input);
  auto second = *store.attach("abcdef0123456789", {"m", {}, {}, "02:aa:bb:cc:dd:ee"});
  EXPECT_EQ(second.ifname, "eth1");
  EXPECT_EQ(second.mac, "02:aa:bb:cc:dd:ee");
  ASSERT_TRUE(store.detach("abcdef0123456789", store.find("n")->id));
  EXPECT_EQ(store.attach("abcdef0123456789", {"n"})->ifname, "eth0") << "the lowest free index again";
}

TEST_F(NetworkStoreTest, ConcurrentClisNeverShareAnAddress) {
  ASSERT_TRUE(store.create({.name = "busy", .subnet = "10.70.0.0/24"}, {}));
  std::vector<std::string> ips[4];
  std::vector<std::thread> clis;
  for (int t = 0; t < 4; ++t)
    clis.emplace_back([&, t] {
      sql::Db own = *open_state_db(dir.path() + "/tiffin.db");  // a CLI of its own
      NetworkStore s(own);
      for (int i = 0; i < 25; ++i) {
        auto e = s.attach("t" + std::to_string(t) + "-" + std::to_string(i), {"busy"});
        if (e) ips[t].push_back(e->ip.str());
      }
    });
  for (auto& c : clis) c.join();
  std::set<std::string> all;
  size_t total = 0;
  for (auto& v : ips) {
    total += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(all.size(), 100u);
}

TEST_F(NetworkStoreTest, PublishedPortsAreUniqueOnTheHost) {
  auto spec = [](const char* text) { return *net::expand_port_spec(*net::parse_port_spec(text)); };
  auto p = store.publish("c1", {spec("8080:80"), spec("127.0.0.1:9090:90/udp")}, always_free);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->size(), 2u);
  auto clash = store.publish("c2", {spec("127.0.0.1:8080:81")}, always_free);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().kind, Errc::conflict);
  EXPECT_NE(clash.error().message.find("c1"), std::string::npos);
  EXPECT_TRUE(store.publish("c2", {spec("127.0.0.2:9090:90/udp"), spec("9090:90")}, always_free)) << "other address, other protocol";
  auto busy = store.publish("c3", {spec("7000:80")}, [](const net::PublishedPort& q) { return q.host_port != 7000; });
  ASSERT_FALSE(busy);
  EXPECT_NE(busy.error().message.find("in use on the host"), std::string::npos);
  EXPECT_TRUE(store.ports("c3")->empty()) << "all or nothing";
  auto picked = *store.publish("c3", {spec("7000-7003:80")}, [](const net::PublishedPort& q) { return q.host_port > 7001; });
  EXPECT_EQ(picked.at(0).host_port, 7002);
  auto random = *store.publish("c4", {spec("80")}, always_free);
  EXPECT_GE(random.at(0).host_port, 49153);
  EXPECT_EQ(store.all_ports()->size(), 6u);
  auto gone = *store.release_gone([](const std::string& c) { return c == "c1" || c == "c4"; });
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0].ports.size() + gone[1].ports.size(), 3u);
  EXPECT_EQ(store.all_ports()->size(), 3u);
}

TEST_F(NetworkStoreTest, ZosNetworksGiveZeroOsUlasAndAreFoundByTheirNetworkId) {
  NetworkSpec spec{.name = "zosnet",
      .driver = "zos",
      .bridge = "b-12345678",
      .subnet = "10.20.3.0/24",
      .ipv6 = true,
      .subnet6 = "fd7a:6f73:6e65:3::/64",
      .gateway6 = "fd7a:6f73:6e65:3::1"};
  auto n = store.create(spec, {});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->bridge, "b-12345678");
  EXPECT_EQ(n->gateway.str(), "10.20.3.1");
  auto e = store.attach("c1", {"zosnet", ip("10.20.3.7"), {}, "", {}});
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->ip6->str(), "fd7a:6f73:6e65:3::7") << "derived from the IPv4 address, not leased";
  auto f = store.attach("c2", {"zosnet", {}, {}, "", {}});
  EXPECT_EQ(f->ip.str(), "10.20.3.2");
  EXPECT_EQ(f->ip6->str(), "fd7a:6f73:6e65:3::2");
  auto outside = store.attach("c3", {"zosnet", ip("10.20.4.7"), {}, "", {}});
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().message.find("is not in network zosnet's 10.20.3.0/24"), std::string::npos);

  ZosNetworkStore zos(db);
  net::ZosNetworkSpec z{"zosnet", "net-7", *net::Cidr::parse("10.20.0.0/16", true), n->subnet, {}, "pub", 51820, {}};
  auto rec = zos.add(n->id, z);
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->ndmz_ip.str(), "100.127.0.2");
  EXPECT_EQ(store.find("net-7")->id, n->id) << "workloads name it by its Zero-OS id";
  auto again = zos.add(n->id, z);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, Errc::conflict);
  net::ZosPeer p{*net::Cidr::parse("10.20.4.0/24", true), {}, "peerkey", {*net::Cidr::parse("10.20.4.0/24", true)},
      *net::WgEndpoint::parse("192.0.2.4:51820")};
  p.public_key.fill(7);
  ASSERT_TRUE(zos.set_peers(n->id, {p}));
  auto back = zos.get(n->id);
  ASSERT_EQ(back->spec.peers.size(), 1u);
  EXPECT_EQ(back->spec.peers[0].public_key, p.public_key);
  EXPECT_EQ(back->spec.peers[0].endpoint->str(), "192.0.2.4:51820");
  EXPECT_EQ(back->spec.private_key, net::WgKey{}) << "the private key is never in the database";
  // The row goes with its network.
  ASSERT_TRUE(store.detach("c1", n->id) && store.detach("c2", n->id));
  ASSERT_TRUE(store.remove(n->id));
  EXPECT_EQ(zos.get(n->id).error().kind, Errc::not_found);
}

}  // namespace
}  // namespace tiffin::engine
