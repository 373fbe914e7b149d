#include "zos/workload_validation.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace tiffin::zos {
namespace {

struct FakeNode final : NodeFacts {
  std::map<std::string, std::string> networks{{"net-a", "10.1.3.0/24"}, {"net6", "fd00:1:2:3::/64"}, {"broken", "nonsense"}};
  std::set<std::string> volumes{"vol-1", "vol-2"};

  std::optional<std::string> network_subnet(const std::string& id) const override {
    auto it = networks.find(id);
    if (it == networks.end()) return std::nullopt;
    return it->second;
  }
  bool volume_exists(const std::string& id) const override { return volumes.contains(id); }
};

ContainerWorkload valid() {
  ContainerWorkload w;
  w.flist = "https://hub.grid.tf/tf-official-apps/base:latest.flist";
  w.capacity = {1, 64, 1024, "ssd"};
  w.environment = {{"PATH", "/bin"}, {"EMPTY", ""}};
  w.secret_environment = {{"TOKEN", "00ff"}};
  w.network_connection = {{"net-a", "10.1.3.5", false}};
  w.volumes = {{"vol-1", "/data"}, {"vol-2", "/var/lib/db/"}};
  return w;
}

TEST(ZosValidation, AValidWorkloadPasses) {
  FakeNode node;
  auto ok = validate_workload(valid(), node);
  EXPECT_TRUE(ok) << ok.error().message;

  ContainerWorkload any_address = valid();
  any_address.network_connection[0].ipaddress = "";
  EXPECT_TRUE(validate_workload(any_address, node));
  ContainerWorkload v6 = valid();
  v6.network_connection = {{"net6", "fd00:1:2:3::10", true}};
  EXPECT_TRUE(validate_workload(v6, node));
  ContainerWorkload bare = valid();
  bare.network_connection.clear();
  bare.volumes.clear();
  bare.environment.clear();
  EXPECT_TRUE(validate_workload(bare, node));
  ContainerWorkload last_host = valid();
  last_host.network_connection[0].ipaddress = "10.1.3.254";
  EXPECT_TRUE(validate_workload(last_host, node));
}

struct Case {
  const char* what;
  void (*change)(ContainerWorkload&);
  Errc kind;
  const char* message;  // the start of the error's message
};

TEST(ZosValidation, EachRuleNamesTheField) {
  const Case cases[] = {
      {"no flist", [](ContainerWorkload& w) { w.flist.clear(); }, Errc::invalid_input, "flist: required"},
      {"no cpu", [](ContainerWorkload& w) { w.capacity.cpu = 0; }, Errc::invalid_input, "capacity.cpu: at least 1 (got 0)"},
      {"little memory", [](ContainerWorkload& w) { w.capacity.memory = 63; }, Errc::invalid_input,
          "capacity.memory: at least 64 MiB (got 63)"},
      {"disk type", [](ContainerWorkload& w) { w.capacity.disk_type = "nvme"; }, Errc::invalid_input, "capacity.disk_type: 'nvme'"},
      {"empty name", [](ContainerWorkload& w) { w.environment[""] = "x"; }, Errc::invalid_input,
          "environment: a variable has an empty name"},
      {"= in name", [](ContainerWorkload& w) { w.environment["A=B"] = "x"; }, Errc::invalid_input,
          "environment: the name 'A=B' contains '='"},
      {"NUL in name", [](ContainerWorkload& w) { w.environment[std::string("A\0B", 3)] = "x"; }, Errc::invalid_input,
          "environment: the name 'A\\x00B' contains a NUL"},
      {"NUL in value", [](ContainerWorkload& w) { w.environment["A"] = std::string("x\0y", 3); }, Errc::invalid_input,
          "environment.A: the value contains a NUL"},
      {"secret name", [](ContainerWorkload& w) { w.secret_environment["K=V"] = "00"; }, Errc::invalid_input,
          "secret_environment: the name 'K=V' contains '='"},
      {"two networks",
          [](ContainerWorkload& w) {
            w.network_connection.push_back({"net6", "", false});
          },
          Errc::invalid_input, "network_connection: at most one network connection is supported (got 2)"},
      {"no network id", [](ContainerWorkload& w) { w.network_connection[0].network_id.clear(); }, Errc::invalid_input,
          "network_connection[0].network_id: required"},
      {"unknown network", [](ContainerWorkload& w) { w.network_connection[0].network_id = "nope"; }, Errc::not_found,
          "network_connection[0].network_id: no network 'nope' on this node"},
      {"bad address", [](ContainerWorkload& w) { w.network_connection[0].ipaddress = "10.1.3"; }, Errc::invalid_input,
          "network_connection[0].ipaddress: '10.1.3' is not an IP address"},
      {"outside", [](ContainerWorkload& w) { w.network_connection[0].ipaddress = "10.1.4.5"; }, Errc::invalid_input,
          "network_connection[0].ipaddress: 10.1.4.5 is not in the network's subnet 10.1.3.0/24"},
      {"other family", [](ContainerWorkload& w) { w.network_connection[0].ipaddress = "fd00::5"; }, Errc::invalid_input,
          "network_connection[0].ipaddress: fd00::5 is not in the network's subnet"},
      {"network address", [](ContainerWorkload& w) { w.network_connection[0].ipaddress = "10.1.3.0"; }, Errc::invalid_input,
          "network_connection[0].ipaddress: 10.1.3.0 is the subnet's network address"},
      {"gateway", [](ContainerWorkload& w) { w.network_connection[0].ipaddress = "10.1.3.1"; }, Errc::invalid_input,
          "network_connection[0].ipaddress: 10.1.3.1 is the subnet's gateway"},
      {"broadcast", [](ContainerWorkload& w) { w.network_connection[0].ipaddress = "10.1.3.255"; }, Errc::invalid_input,
          "network_connection[0].ipaddress: 10.1.3.255 is the subnet's broadcast address"},
      {"v6 gateway",
          [](ContainerWorkload& w) {
            w.network_connection[0] = {"net6", "fd00:1:2:3::1", false};
          },
          Errc::invalid_input, "network_connection[0].ipaddress: fd00:1:2:3::1 is the subnet's gateway"},
      {"node's subnet broken", [](ContainerWorkload& w) { w.network_connection[0].network_id = "broken"; }, Errc::internal,
          "network 'broken': the node's subnet is not a CIDR"},
      {"no volume id", [](ContainerWorkload& w) { w.volumes[1].volume_id.clear(); }, Errc::invalid_input, "volumes[1].volume_id: required"},
      {"unknown volume", [](ContainerWorkload& w) { w.volumes[0].volume_id = "vol-9"; }, Errc::not_found,
          "volumes[0].volume_id: no volume 'vol-9' on this node"},
      {"no mountpoint", [](ContainerWorkload& w) { w.volumes[0].mountpoint.clear(); }, Errc::invalid_input,
          "volumes[0].mountpoint: required"},
      {"relative", [](ContainerWorkload& w) { w.volumes[0].mountpoint = "data"; }, Errc::invalid_input,
          "volumes[0].mountpoint: 'data' is not an absolute path"},
      {"root", [](ContainerWorkload& w) { w.volumes[0].mountpoint = "/"; }, Errc::invalid_input,
          "volumes[0].mountpoint: a volume cannot be mounted on '/'"},
      {"root twice", [](ContainerWorkload& w) { w.volumes[0].mountpoint = "//"; }, Errc::invalid_input,
          "volumes[0].mountpoint: a volume cannot be mounted on '/'"},
      {"dot dot", [](ContainerWorkload& w) { w.volumes[0].mountpoint = "/data/../etc"; }, Errc::invalid_input,
          "volumes[0].mountpoint: '/data/../etc' contains '..'"},
      {"trailing dot dot", [](ContainerWorkload& w) { w.volumes[0].mountpoint = "/data/.."; }, Errc::invalid_input,
          "volumes[0].mountpoint: '/data/..' contains '..'"},
      {"same mountpoint", [](ContainerWorkload& w) { w.volumes[1].mountpoint = "/data/"; }, Errc::invalid_input,
          "volumes[1].mountpoint: '/data/' is used by another volume too"},
  };
  FakeNode node;
  for (const auto& c : cases) {
    ContainerWorkload w = valid();
    c.change(w);
    auto r = validate_workload(w, node);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().kind, c.kind) << c.what << ": " << r.error().message;
    EXPECT_TRUE(r.error().message.starts_with(c.message)) << c.what << " gave: " << r.error().message;
  }
}

}  // namespace
}  // namespace tiffin::zos
