#include "cli/zos_container_spec.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace tiffin::cli {
namespace {

using Argv = std::vector<std::string>;

ZosContainerRequest req(const std::string& extraconfig = "") {
  ZosContainerRequest r;
  r.name = "web";
  r.root = "https://hub.grid.tf/tf-official-apps/base:latest.flist";
  r.extraconfig = extraconfig;
  return r;
}

// Whether `argv` holds `a` followed by `b`.
bool has_pair(const Argv& argv, const std::string& a, const std::string& b) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == a && argv[i + 1] == b) return true;
  return false;
}

Error refusal(const ZosContainerRequest& r) {
  auto p = plan_zos_container(r);
  EXPECT_FALSE(p.has_value());
  return p ? Error{} : p.error();
}

TEST(ZosContainerSpec, FlagsBecomeRunsArguments) {
  ZosContainerRequest r = req();
  r.privileged = true;
  r.ports = "8080:80, 127.0.0.1:7000:7000";
  r.env = "A=1,B=x=y";
  auto p = plan_zos_container(r);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->run, (Argv{"run", "-d", "-i", "--name", "web", "--hostname", "web", "--privileged", "-p", "8080:80", "-p",
                        "127.0.0.1:7000:7000", "-e", "A=1", "-e", "B=x=y", r.root}));
  EXPECT_TRUE(p->joins.empty());
  EXPECT_TRUE(p->files.empty());
}

TEST(ZosContainerSpec, HostnameDefaultsToTheName) {
  ZosContainerRequest r = req(R"({"hostname": "from-extra"})");
  auto p = plan_zos_container(r);
  ASSERT_TRUE(p);
  EXPECT_TRUE(has_pair(p->run, "--hostname", "from-extra"));
  r = req();
  r.hostname = "h";
  EXPECT_TRUE(has_pair(plan_zos_container(r)->run, "--hostname", "h"));
}

TEST(ZosContainerSpec, ExtraconfigKeys) {
  auto p = plan_zos_container(req(R"j({
      "mount": {"/srv/data": "/data"},
      "port": {"8080": 80, "127.0.0.1:9000": "9000"},
      "env": {"K": "v w"},
      "cgroups": [],
      "config": {"/etc/app/conf": "a=1\n$(id)"}})j"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(has_pair(p->run, "-v", "/srv/data:/data"));
  EXPECT_TRUE(has_pair(p->run, "-p", "8080:80"));
  EXPECT_TRUE(has_pair(p->run, "-p", "127.0.0.1:9000:9000"));
  EXPECT_TRUE(has_pair(p->run, "-e", "K=v w"));
  EXPECT_EQ(p->files.at("/etc/app/conf"), "a=1\n$(id)");
  EXPECT_EQ(p->run.back(), req().root);
}

TEST(ZosContainerSpec, Nics) {
  auto p = plan_zos_container(req(R"({"nics": [
      {"type": "bridge", "id": "backend", "hwaddr": "02:00:00:00:00:01", "config": {"cidr": "10.9.0.7/24", "dns": ["10.9.0.1"]}},
      {"type": "default"},
      {"type": "bridge", "name": "other", "config": {"cidr": "10.10.0.3/24", "dhcp": false}}]})"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(has_pair(p->run, "--network", "backend"));
  EXPECT_TRUE(has_pair(p->run, "--ip", "10.9.0.7"));
  EXPECT_TRUE(has_pair(p->run, "--mac-address", "02:00:00:00:00:01"));
  EXPECT_TRUE(has_pair(p->run, "--dns", "10.9.0.1"));
  ASSERT_EQ(p->joins.size(), 2u);
  EXPECT_EQ(p->joins[0].network, "bridge");
  EXPECT_EQ(p->joins[1].network, "other");
  EXPECT_EQ(p->joins[1].ip, "10.10.0.3");

  // The default network first needs no flag; no nics at all is no network.
  p = plan_zos_container(req(R"({"nics": [{"type": "default"}]})"));
  ASSERT_TRUE(p);
  EXPECT_EQ(std::count(p->run.begin(), p->run.end(), "--network"), 0);
  EXPECT_TRUE(has_pair(plan_zos_container(req(R"({"nics": []})"))->run, "--network", "none"));
}

TEST(ZosContainerSpec, HostNetworkIgnoresNicsPortsAndHostname) {
  ZosContainerRequest r = req(R"({"host_network": true, "nics": [{"type": "zerotier", "id": "x"}], "port": {"80": 80}})");
  r.ports = "81:81";
  auto p = plan_zos_container(r);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(has_pair(p->run, "--network", "host"));
  EXPECT_EQ(std::count(p->run.begin(), p->run.end(), "-p"), 0);
  EXPECT_EQ(std::count(p->run.begin(), p->run.end(), "--hostname"), 0);
  EXPECT_EQ(p->notes.size(), 2u);
}

TEST(ZosContainerSpec, Refusals) {
  struct Case {
    std::string extraconfig;
    Errc kind;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {"[1]", Errc::invalid_input, "JSON object"},
           {"{nope", Errc::invalid_input, "JSON object"},
           {R"({"volumes": {}})", Errc::invalid_input, "unknown key 'volumes'"},
           {R"({"mount": {"https://hub.grid.tf/a/b.flist": "/mnt"}})", Errc::unsupported, "flist as a volume"},
           {R"({"mount": {"relative": "/mnt"}})", Errc::invalid_input, "absolute host path"},
           {R"({"mount": {"/a": "b"}})", Errc::invalid_input, "absolute path in the container"},
           {R"({"nics": [{"type": "zerotier", "id": "abc"}]})", Errc::unsupported, "'zerotier'"},
           {R"({"nics": [{"type": "macvlan", "id": "eth0"}]})", Errc::unsupported, "'macvlan'"},
           {R"({"nics": [{"type": "weird"}]})", Errc::invalid_input, "unknown nic type 'weird'"},
           {R"({"nics": [{"type": "bridge"}]})", Errc::invalid_input, "network's name"},
           {R"({"nics": [{"type": "default"}, {"type": "default"}]})", Errc::invalid_input, "already"},
           {R"({"nics": [{"type": "default", "mtu": 1400}]})", Errc::invalid_input, "unknown key 'mtu'"},
           {R"({"nics": [{"type": "default"}, {"type": "bridge", "id": "b", "hwaddr": "02:00:00:00:00:02"}]})", Errc::unsupported,
               "first nic"},
           {R"({"cgroups": [["cpuset", "big"]]})", Errc::unsupported, "named cgroups"},
           {R"({"storage": "zdb://hub.grid.tf:9900"})", Errc::unsupported, "storage"},
           {R"({"env": {"A=B": "x"}})", Errc::invalid_input, "not a variable's name"},
           {R"({"env": {"A": 1}})", Errc::invalid_input, "extraconfig.env.A"},
           {R"({"port": {"80": true}})", Errc::invalid_input, "extraconfig.port.80"},
           {R"({"config": {"etc/x": "y"}})", Errc::invalid_input, "absolute file path"},
           {R"({"host_network": "yes"})", Errc::invalid_input, "boolean"},
       }) {
    Error e = refusal(req(c.extraconfig));
    EXPECT_EQ(e.kind, c.kind) << c.extraconfig << ": " << e.message;
    EXPECT_NE(e.message.find(c.says), std::string::npos) << c.extraconfig << ": " << e.message;
  }
  ZosContainerRequest r = req();
  r.ports = "8080";
  EXPECT_NE(refusal(r).message.find("host:container"), std::string::npos);
  r = req();
  r.env = "NOVALUE";
  EXPECT_NE(refusal(r).message.find("KEY=VALUE"), std::string::npos);
  r = req();
  r.name = "";
  EXPECT_NE(refusal(r).message.find("--name"), std::string::npos);
  r = req();
  r.root = "";
  EXPECT_NE(refusal(r).message.find("--root"), std::string::npos);
}

}  // namespace
}  // namespace tiffin::cli
