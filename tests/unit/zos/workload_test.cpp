#include "zos/workload.hpp"

#include <gtest/gtest.h>

namespace tiffin::zos {
namespace {

using json = nlohmann::json;

// Every field set: two environment variables given out of order, an IPv6 connection (two equal
// runs of zeros: the first is compressed) and an IPv4 one, a volume, logs and stats.
const char* kFull = R"({
  "workload_id": 42, "node_id": "9Gn5hcyKkwq6c5s8ZpBmR9ZbaH2PAUtNmhXJMXrmGSFc", "pool_id": 7, "reference": "ref-1",
  "customer_tid": 1001, "workload_type": 1, "epoch": 1600000000, "description": "web server", "metadata": "meta",
  "flist": "https://hub.grid.tf/tf-official-apps/base:latest.flist", "hub_url": "zdb://hub.grid.tf:9900",
  "environment": {"ZED": "last", "ALPHA": "first"}, "secret_environment": {"TOKEN": "abcdef"},
  "entrypoint": "/sbin/zinit init", "interactive": true,
  "volumes": [{"volume_id": "vol-1", "mountpoint": "/data"}],
  "network_connection": [{"network_id": "net-a", "ipaddress": "2001:DB8:0:0:1:0:0:1", "public_ip6": true},
                         {"network_id": "net-b", "ipaddress": "10.1.3.5", "public_ip6": false}],
  "capacity": {"cpu": 2, "memory": 2048, "disk_size": 10240, "disk_type": "hdd"},
  "logs": [{"type": "redis", "data": {"stdout": "redis://log:6379/out", "stderr": "redis://log:6379/err"}}],
  "stats": [{"type": "redis", "data": {"endpoint": "redis://stats:6379/x"}}],
  "signatures_provision": [], "next_action": 3, "result": {"state": 1}
})";

ContainerWorkload full() {
  auto w = parse_workload_text(kFull);
  EXPECT_TRUE(w) << w.error().message;
  return *w;
}

TEST(ZosWorkload, ParsesEveryField) {
  ContainerWorkload w = full();
  EXPECT_EQ(w.workload_id, 42);
  EXPECT_EQ(w.node_id, "9Gn5hcyKkwq6c5s8ZpBmR9ZbaH2PAUtNmhXJMXrmGSFc");
  EXPECT_EQ(w.pool_id, 7);
  EXPECT_EQ(w.reference, "ref-1");
  EXPECT_EQ(w.customer_tid, 1001);
  EXPECT_EQ(w.epoch, 1600000000);
  EXPECT_EQ(w.description, "web server");
  EXPECT_EQ(w.metadata, "meta");
  EXPECT_EQ(w.flist, "https://hub.grid.tf/tf-official-apps/base:latest.flist");
  EXPECT_EQ(w.hub_url, "zdb://hub.grid.tf:9900");
  EXPECT_EQ(w.environment, (std::map<std::string, std::string>{{"ALPHA", "first"}, {"ZED", "last"}}));
  EXPECT_EQ(w.secret_environment.at("TOKEN"), "abcdef");
  EXPECT_EQ(w.entrypoint, "/sbin/zinit init");
  EXPECT_TRUE(w.interactive);
  EXPECT_EQ(w.volumes, (std::vector<VolumeMount>{{"vol-1", "/data"}}));
  ASSERT_EQ(w.network_connection.size(), 2u);
  EXPECT_EQ(w.network_connection[0], (NetworkConnection{"net-a", "2001:DB8:0:0:1:0:0:1", true}));
  EXPECT_EQ(w.network_connection[1], (NetworkConnection{"net-b", "10.1.3.5", false}));
  EXPECT_EQ(w.capacity, (Capacity{2, 2048, 10240, "hdd"}));
  EXPECT_EQ(w.logs, (std::vector<RedisLogs>{{"redis://log:6379/out", "redis://log:6379/err"}}));
  EXPECT_EQ(w.stats_endpoints, std::vector<std::string>{"redis://stats:6379/x"});
}

TEST(ZosWorkload, ChallengeOfAFullWorkload) {
  // Written out by hand from tfexplorer's Container.SignatureChallenge.
  const std::string expected =
      "42"
      "9Gn5hcyKkwq6c5s8ZpBmR9ZbaH2PAUtNmhXJMXrmGSFc"
      "7"
      "ref-1"
      "1001"
      "CONTAINER"
      "1600000000"
      "web server"
      "meta"
      "https://hub.grid.tf/tf-official-apps/base:latest.flist"
      "zdb://hub.grid.tf:9900"
      "/sbin/zinit init"
      "true"
      "ALPHA=firstZED=last"
      "TOKEN=abcdef"
      "vol-1/data"
      "net-a2001:db8::1:0:0:1true"
      "net-b10.1.3.5false"
      "2"
      "2048"
      "10240"
      "hdd";
  EXPECT_EQ(signature_challenge(full()), expected);
}

TEST(ZosWorkload, ChallengeOfDefaultsAndAnEmptyAddress) {
  EXPECT_EQ(signature_challenge(ContainerWorkload{}), "000CONTAINER0false000ssd");
  ContainerWorkload w;
  w.workload_id = -3;
  w.epoch = -1;
  w.network_connection.push_back({"net", "", false});
  EXPECT_EQ(signature_challenge(w), "-300CONTAINER-1falsenet<nil>false000ssd");
}

TEST(ZosWorkload, AddressesPrintAsGoPrintsThem) {
  EXPECT_EQ(go_ip_string(""), "<nil>");
  EXPECT_EQ(go_ip_string("10.1.3.5"), "10.1.3.5");
  EXPECT_EQ(go_ip_string("::ffff:10.1.3.5"), "10.1.3.5");
  EXPECT_EQ(go_ip_string("::1.2.3.4"), "::102:304");
  EXPECT_EQ(go_ip_string("FE80:0000::0:ABCD"), "fe80::abcd");
  EXPECT_EQ(go_ip_string("0:0:0:0:0:0:0:0"), "::");
  EXPECT_EQ(go_ip_string("0:0:0:0:0:0:0:1"), "::1");
  EXPECT_EQ(go_ip_string("2001:db8::"), "2001:db8::");
  EXPECT_EQ(go_ip_string("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1") << "one zero group is not compressed";
  EXPECT_EQ(go_ip_string("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1") << "the longest run wins";
  EXPECT_EQ(go_ip_string("not an ip"), "not an ip");
}

TEST(ZosWorkload, RoundTripsThroughItsJson) {
  ContainerWorkload w = full();
  auto back = parse_workload(workload_json(w));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, w);
  auto from_text = parse_workload_text(workload_json(w).dump());
  ASSERT_TRUE(from_text);
  EXPECT_EQ(*from_text, w);
  EXPECT_EQ(workload_json(w)["epoch"], 1600000000);
  EXPECT_EQ(*parse_workload(workload_json(ContainerWorkload{})), ContainerWorkload{});
}

TEST(ZosWorkload, MissingAndNullKeysTakeDefaults) {
  auto w = parse_workload_text(R"({"flist": "x", "environment": null, "capacity": {"cpu": 1}, "hub_url": null})");
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->flist, "x");
  EXPECT_TRUE(w->environment.empty());
  EXPECT_EQ(w->capacity, (Capacity{1, 0, 0, "ssd"}));
  EXPECT_EQ(*parse_workload_text("{}"), ContainerWorkload{});
}

TEST(ZosWorkload, AcceptsTheExplorersOtherForms) {
  auto rfc = parse_workload_text(R"({"epoch": "2020-09-13T14:26:40.123+02:00"})");
  ASSERT_TRUE(rfc) << rfc.error().message;
  EXPECT_EQ(rfc->epoch, 1600000000);
  EXPECT_EQ(parse_workload_text(R"({"epoch": "2020-09-13T12:26:40Z"})")->epoch, 1600000000);
  EXPECT_EQ(parse_workload_text(R"({"epoch": "1970-01-01T00:00:00Z"})")->epoch, 0);
  EXPECT_EQ(parse_workload_text(R"({"epoch": "2024-02-29T00:00:00-00:30"})")->epoch, 1709166600);
  EXPECT_EQ(parse_workload_text(R"({"capacity": {"disk_type": 0}})")->capacity.disk_type, "hdd");
  EXPECT_EQ(parse_workload_text(R"({"capacity": {"disk_type": 1}})")->capacity.disk_type, "ssd");
  EXPECT_EQ(parse_workload_text(R"({"workload_type": "container"})")->flist, "");
  auto aggregator = parse_workload_text(R"({"stats_aggregator": [{"type": "redis", "data": {"endpoint": "redis://s"}}]})");
  ASSERT_TRUE(aggregator) << aggregator.error().message;
  EXPECT_EQ(aggregator->stats_endpoints, std::vector<std::string>{"redis://s"});
}

struct Bad {
  const char* json;
  const char* message;  // the start of the error's message
};

TEST(ZosWorkload, WrongTypesNameTheField) {
  const Bad cases[] = {
      {R"([])", "workload: expected a JSON object"},
      {R"({"workload_id": "7"})", "workload_id: expected an integer"},
      {R"({"workload_id": 1.5})", "workload_id: expected an integer"},
      {R"({"workload_id": 9223372036854775808})", "workload_id: expected an integer"},
      {R"({"node_id": 5})", "node_id: expected a string"},
      {R"({"pool_id": true})", "pool_id: expected an integer"},
      {R"({"customer_tid": "1"})", "customer_tid: expected an integer"},
      {R"({"reference": []})", "reference: expected a string"},
      {R"({"epoch": true})", "epoch: expected unix seconds"},
      {R"({"epoch": "yesterday"})", "epoch: 'yesterday' is not an RFC 3339 time"},
      {R"({"epoch": "2020-02-30T00:00:00Z"})", "epoch: '2020-02-30T00:00:00Z' is not an RFC 3339 time (no such date)"},
      {R"({"epoch": "2020-01-01T00:00:00"})", "epoch: '2020-01-01T00:00:00' is not an RFC 3339 time (no time zone"},
      {R"({"description": 1})", "description: expected a string"},
      {R"({"metadata": {}})", "metadata: expected a string"},
      {R"({"flist": 1})", "flist: expected a string"},
      {R"({"hub_url": false})", "hub_url: expected a string"},
      {R"({"environment": []})", "environment: expected an object"},
      {R"({"environment": "A=1"})", "environment: expected an object"},
      {R"({"environment": {"A": 1}})", "environment.A: expected a string"},
      {R"({"secret_environment": {"S": null}})", "secret_environment.S: expected a string"},
      {R"({"entrypoint": ["/bin/sh"]})", "entrypoint: expected a string"},
      {R"({"interactive": "yes"})", "interactive: expected true or false"},
      {R"({"volumes": {}})", "volumes: expected a list"},
      {R"({"volumes": [1]})", "volumes[0]: expected an object"},
      {R"({"volumes": [{"volume_id": "v", "mountpoint": 3}]})", "volumes[0].mountpoint: expected a string"},
      {R"({"network_connection": [{}, {"network_id": 1}]})", "network_connection[1].network_id: expected a string"},
      {R"({"network_connection": [{"ipaddress": "10.0.0.300"}]})", "network_connection[0].ipaddress: '10.0.0.300' is not an IP address"},
      {R"({"network_connection": [{"ipaddress": "10.0.0.0/24"}]})", "network_connection[0].ipaddress: '10.0.0.0/24' is not an IP address"},
      {R"({"network_connection": [{"public_ip6": 1}]})", "network_connection[0].public_ip6: expected true or false"},
      {R"({"capacity": "big"})", "capacity: expected an object"},
      {R"({"capacity": {"memory": "64"}})", "capacity.memory: expected an integer"},
      {R"({"capacity": {"cpu": -1}})", "capacity.cpu: expected a non-negative integer"},
      {R"({"capacity": {"memory": -64}})", "capacity.memory: expected a non-negative integer"},
      {R"({"capacity": {"disk_size": -5}})", "capacity.disk_size: expected a non-negative integer"},
      {R"({"capacity": {"disk_size": 1.0}})", "capacity.disk_size: expected a non-negative integer"},
      {R"({"capacity": {"disk_type": "nvme"}})", "capacity.disk_type: expected \"hdd\" or \"ssd\""},
      {R"({"capacity": {"disk_type": 2}})", "capacity.disk_type: expected \"hdd\" or \"ssd\""},
      {R"({"logs": [{"type": "stdout", "data": {}}]})", "logs[0].type: \"stdout\" is not supported (only \"redis\")"},
      {R"({"logs": [{"data": {}}]})", "logs[0].type: \"\" is not supported"},
      {R"({"logs": [{"type": "redis", "data": []}]})", "logs[0].data: expected an object"},
      {R"({"logs": [{"type": "redis", "data": {"stdout": 1}}]})", "logs[0].data.stdout: expected a string"},
      {R"({"stats": [{"type": "prometheus", "data": {"endpoint": "x"}}]})", "stats[0].type: \"prometheus\" is not supported"},
      {R"({"stats": [{"type": "redis", "data": {"endpoint": 7}}]})", "stats[0].data.endpoint: expected a string"},
      {R"({"workload_type": 2})", "workload_type: 2 is not a container workload"},
      {R"({"workload_type": "volume"})", "workload_type: \"volume\" is not a container workload"},
  };
  for (const auto& c : cases) {
    auto w = parse_workload_text(c.json);
    ASSERT_FALSE(w) << c.json;
    EXPECT_EQ(w.error().kind, Errc::invalid_input) << c.json;
    EXPECT_TRUE(w.error().message.starts_with(c.message)) << c.json << " gave: " << w.error().message;
  }
}

TEST(ZosWorkload, InvalidJsonSaysWhere) {
  auto w = parse_workload_text("{\"flist\": \"x\",\n \"pool_id\": }");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().kind, Errc::invalid_input);
  EXPECT_TRUE(w.error().message.starts_with("workload: invalid JSON: ")) << w.error().message;
  EXPECT_NE(w.error().message.find("line 2, column"), std::string::npos) << w.error().message;
  EXPECT_FALSE(parse_workload_text(""));
  EXPECT_FALSE(parse_workload_text("{\"a\": \"\xff\"}"));
}

}  // namespace
}  // namespace tiffin::zos
