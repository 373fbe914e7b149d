// The Engine API's pure parts: version prefixes, routing, queries, filters, the create body,
// events as docker shows and filters them.
#include <gtest/gtest.h>

#include "api/api_version.hpp"
#include "api/container_create.hpp"
#include "api/docker_events.hpp"
#include "api/filters.hpp"
#include "api/router.hpp"
#include "api/stream_frames.hpp"

namespace tiffin::api {
namespace {

TEST(ApiVersion, PrefixesAreSplitAndBoundsEnforced) {
  auto v = split_version("/v1.43/containers/json");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->version, "1.43");
  EXPECT_EQ(v->path, "/containers/json");
  v = split_version("/containers/json");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->version, kMaxApiVersion);
  EXPECT_EQ(v->path, "/containers/json");
  auto too_new = split_version("/v1.99/info");
  ASSERT_FALSE(too_new);
  EXPECT_NE(too_new.error().message.find("too new"), std::string::npos);
  EXPECT_FALSE(split_version("/v1.12/info"));
  EXPECT_TRUE(split_version("/volumes"));  // "/v…" that is no version is a path
  EXPECT_EQ(compare_versions("1.9", "1.41"), -1);
  EXPECT_EQ(compare_versions("1.41", "1.41"), 0);
}

TEST(Router, SegmentsParametersAndRestOfPath) {
  Router<int> r;
  r.add("GET", "/containers/json", 1);
  r.add("GET", "/containers/{id}/json", 2);
  r.add("GET", "/images/{name*}/json", 3);
  r.add("DELETE", "/images/{name*}", 4);
  auto m = r.match("GET", "/containers/json");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(*m.handler, 1);
  m = r.match("GET", "/containers/abc%2Fd/json");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(*m.handler, 2);
  EXPECT_EQ(m.params["id"], "abc/d");
  m = r.match("GET", "/images/127.0.0.1:5000/team/app:1/json");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(*m.handler, 3);
  EXPECT_EQ(m.params["name"], "127.0.0.1:5000/team/app:1");
  m = r.match("DELETE", "/images/library/busybox:latest");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(m.params["name"], "library/busybox:latest");
  m = r.match("POST", "/containers/json");
  EXPECT_FALSE(m.handler);
  EXPECT_TRUE(m.method_mismatch);
  m = r.match("GET", "/containers//json");
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(*m.handler, 1) << "empty segments fold, as a cleaned path: never an empty id";
  EXPECT_FALSE(r.match("GET", "/nothing").handler);
  EXPECT_FALSE(r.match("GET", "/containers/%zz/json").handler) << "a bad escape";
  EXPECT_TRUE(r.match("HEAD", "/containers/json").handler) << "HEAD is GET without a body";
}

TEST(Router, QueriesDecode) {
  auto q = parse_query("all=1&filters=%7B%22a%22%3A1%7D&x=a+b&x=c&&=z&bad=%g");
  EXPECT_EQ(q.find("all")->second, "1");
  EXPECT_EQ(q.find("filters")->second, "{\"a\":1}");
  EXPECT_EQ(q.count("x"), 2u);
  EXPECT_EQ(q.find("x")->second, "a b");
  EXPECT_EQ(q.count("bad"), 0u);
  EXPECT_EQ(q.count(""), 0u);
}

TEST(Filters, ListsAndOldSets) {
  auto f = filter_pairs(R"({"label":["a=b","c"],"status":{"running":true,"exited":false}})");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, (std::vector<std::string>{"label=a=b", "label=c", "status=running"}));
  EXPECT_FALSE(filter_pairs("[1]"));
  EXPECT_FALSE(filter_pairs("{\"a\":3}"));
  EXPECT_FALSE(filter_pairs("{"));
  EXPECT_TRUE(filter_pairs("")->empty());
}

TEST(ContainerCreate, DockersBodyBecomesTheConfig) {
  auto body = nlohmann::json::parse(R"({
    "Image": "busybox", "Cmd": ["sh", "-c", "x"], "Entrypoint": [""], "Env": ["A=1"], "Tty": true, "OpenStdin": true,
    "Labels": {"com.docker.compose.service": "web"}, "Volumes": {"/anon": {}},
    "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 1000000000, "Retries": 2},
    "HostConfig": {"Binds": ["/srv:/srv:ro"], "NetworkMode": "default",
      "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "53/udp": [{"HostIp": "", "HostPort": ""}]},
      "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}, "AutoRemove": false, "Memory": 67108864,
      "NanoCpus": 500000000, "PidsLimit": -1, "Tmpfs": {"/run": "size=1m"}, "CapDrop": ["NET_RAW"],
      "Mounts": [{"Type": "volume", "Source": "data", "Target": "/data"}, {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 4096, "Mode": 448}}]},
    "NetworkingConfig": {"EndpointsConfig": {"app_net": {"Aliases": ["web"]}}}
  })");
  auto c = config_from_create(body, "/web1");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->name, "web1");
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"sh", "-c", "x"}));
  ASSERT_TRUE(c->entrypoint);
  EXPECT_TRUE(c->entrypoint->empty()) << "[\"\"] resets the image's entrypoint";
  EXPECT_TRUE(c->tty && c->interactive);
  EXPECT_EQ(c->labels.at("com.docker.compose.service"), "web");
  EXPECT_EQ(c->healthcheck.test, (std::vector<std::string>{"CMD-SHELL", "true"}));
  EXPECT_EQ(c->restart, "on-failure:3");
  EXPECT_EQ(c->memory, 64 << 20);
  EXPECT_DOUBLE_EQ(c->cpus, 0.5);
  EXPECT_EQ(c->pids_limit, 0);
  EXPECT_EQ(c->network, "app_net");
  EXPECT_EQ(c->network_aliases, (std::vector<std::string>{"web"}));
  EXPECT_EQ(c->publish, (std::vector<std::string>{"53/udp", "127.0.0.1:8080:80/tcp"}));
  ASSERT_EQ(c->volumes.size(), 3u);
  EXPECT_EQ(c->volumes[0], "/srv:/srv:ro");
  EXPECT_EQ(c->volumes[1], "data:/data:rw");
  EXPECT_TRUE(c->volumes[2].ends_with(":/anon"));
  EXPECT_EQ(c->anonymous_volumes.size(), 1u);
  EXPECT_EQ(c->tmpfs, (std::vector<std::string>{"/t:size=4096,mode=0700", "/run:size=1m"}));

  for (const char* bad :
      {R"({"Cmd": ["x"]})", R"({"Image": 3})", R"({"Image": "b", "Env": "A=1"})", R"({"Image": "b", "HostConfig": {"Memory": "lots"}})",
          R"({"Image": "b", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}})",
          R"({"Image": "b", "HostConfig": {"Binds": ["rel:x"]}})",
          R"({"Image": "b", "HostConfig": {"Mounts": [{"Type": "npipe", "Target": "/x"}]}})",
          R"({"Image": "b", "HostConfig": {"Init": "yes"}})", R"({"Image": "b", "HostConfig": {"Tmpfs": {"/x": "exotic"}}})", "[]"}) {
    auto j = nlohmann::json::parse(bad);
    auto r = config_from_create(j, "");
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().kind, Errc::invalid_input) << bad;
    }
  }
}

TEST(StreamFrames, DockersEightByteHeader) {
  EXPECT_EQ(frame(StreamKind::stderr_, "hi"), std::string("\x02\x00\x00\x00\x00\x00\x00\x02hi", 10));
  EXPECT_EQ(frame(StreamKind::stdout_, std::string(300, 'x')).substr(0, 8), std::string("\x01\x00\x00\x00\x00\x00\x01\x2c", 8));
}

TEST(DockerEvents, ShapeAsDockerSendsThem) {
  Event e{"container", "die", "abc123", {{"name", "web"}, {"image", "busybox"}, {"exitCode", "3"}}, 1700000000123456789};
  auto j = event_json(e);
  EXPECT_EQ(j["Type"], "container");
  EXPECT_EQ(j["Action"], "die");
  EXPECT_EQ(j["Actor"]["ID"], "abc123");
  EXPECT_EQ(j["Actor"]["Attributes"]["exitCode"], "3");
  EXPECT_EQ(j["time"], 1700000000);
  EXPECT_EQ(j["timeNano"], 1700000000123456789);
  EXPECT_EQ(j["status"], "die");
  EXPECT_EQ(j["from"], "busybox");
  EXPECT_FALSE(event_json(Event{"volume", "create", "v", {}, 1}).contains("status"));
}

TEST(DockerEvents, FiltersAsDocker) {
  std::string id(64, 'a');
  Event start{"container", "start", id, {{"name", "web"}, {"image", "busybox:latest"}, {"tier", "front"}}, 1};
  Event health{"container", "health_status: healthy", id, {{"name", "web"}, {"image", "busybox"}}, 2};
  Event vol{"volume", "create", "data", {{"driver", "local"}}, 3};
  auto f = [](std::vector<std::string> kv) {
    auto parsed = EventFilter::parse(kv);
    EXPECT_TRUE(parsed);
    return *parsed;
  };
  EXPECT_TRUE(f({}).matches(start));
  EXPECT_TRUE(f({"container=web"}).matches(start));
  EXPECT_TRUE(f({"container=" + id.substr(0, 12)}).matches(start));
  EXPECT_FALSE(f({"container=aaa"}).matches(start)) << "short prefixes are not ids";
  EXPECT_TRUE(f({"event=start", "event=die"}).matches(start)) << "values of a key are alternatives";
  EXPECT_FALSE(f({"event=start", "type=volume"}).matches(start)) << "keys must all hold";
  EXPECT_TRUE(f({"event=health_status"}).matches(health));
  EXPECT_TRUE(f({"image=busybox"}).matches(start));
  EXPECT_TRUE(f({"image=busybox:latest"}).matches(health));
  EXPECT_TRUE(f({"label=tier"}).matches(start));
  EXPECT_TRUE(f({"label=tier=front"}).matches(start));
  EXPECT_FALSE(f({"label=tier=back"}).matches(start));
  EXPECT_TRUE(f({"volume=data"}).matches(vol));
  EXPECT_FALSE(f({"volume=data"}).matches(start));
  EXPECT_FALSE(EventFilter::parse({"colour=red"}));
}

TEST(DockerEvents, TimesAsClientsSendThem) {
  EXPECT_EQ(parse_event_time("1700000000").value(), 1700000000000000000);
  EXPECT_EQ(parse_event_time("1700000000.5").value(), 1700000000500000000);
  EXPECT_EQ(parse_event_time("1700000000.000000001").value(), 1700000000000000001);
  for (const char* bad : {"", "x", "-5", "1.", "1.0000000001", "1.2e3", "99999999999"}) EXPECT_FALSE(parse_event_time(bad)) << bad;
}

}  // namespace
}  // namespace tiffin::api
