// The engine's pure parts: image references, container configs, volume specs, docker's
// entrypoint/cmd rules and the OCI spec a container gets.
#include <gtest/gtest.h>

#include "engine/container_config.hpp"
#include "engine/image_reference.hpp"

namespace tiffin::engine {
namespace {

using Kind = ImageReference::Kind;

TEST(ImageReference, Kinds) {
  auto hub = parse_image_reference("http://127.0.0.1:8080/alice/app");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->kind, Kind::hub);
  EXPECT_EQ(hub->name, "127.0.0.1:8080/alice/app:latest");
  EXPECT_EQ(hub->hub_url, "http://127.0.0.1:8080/alice/app:latest");
  auto by_host = parse_image_reference("localhost:8080/alice/app:1.0");
  ASSERT_TRUE(by_host);
  EXPECT_EQ(by_host->kind, Kind::hub);
  EXPECT_EQ(by_host->hub_url, "http://localhost:8080/alice/app:1.0");
  EXPECT_EQ(parse_image_reference("hub.example.org/alice/app")->hub_url, "https://hub.example.org/alice/app:latest");
  EXPECT_EQ(parse_image_reference("busybox")->kind, Kind::local);
  EXPECT_EQ(parse_image_reference("alice/app:2")->kind, Kind::local);
  EXPECT_EQ(parse_image_reference("/")->kind, Kind::source);
  EXPECT_FALSE(parse_image_reference(""));
  EXPECT_FALSE(parse_image_reference("a b"));
  EXPECT_FALSE(parse_image_reference("./missing.fl"));
  EXPECT_EQ(normalize_image_name("a"), "a:latest");
  EXPECT_EQ(normalize_image_name("h:80/u/a"), "h:80/u/a:latest");
}

TEST(ContainerConfig, JsonRoundTripAndValidation) {
  ContainerConfig c;
  c.name = "web-1";
  c.image = "busybox";
  c.entrypoint = std::vector<std::string>{};
  c.env = {"A=1"};
  c.memory = 64 << 20;
  c.volumes = {"data:/data:ro", "/srv:/srv"};
  c.restart = "on-failure:3";
  c.network = "app";
  c.publish = {"8080:80"};
  c.network_aliases = {"www"};
  c.ip = "10.1.0.5";
  c.dns = {"10.0.0.1"};
  c.dns_search = {"example.test"};
  c.lower_dirs = {"/var/lib/tiffin/build-steps/1-ab/2", "/var/lib/tiffin/build-steps/1-ab/1"};
  auto back = container_config_from_json(container_config_to_json(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
  EXPECT_TRUE(validate_container_config(c));

  auto bad = [&](auto change) {
    ContainerConfig x = c;
    change(x);
    return !validate_container_config(x);
  };
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.name = "-x"; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.memory = 1024; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.network = "no/such"; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.network = "container:"; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.network = "host", x.publish = {"80"}; })) << "-p needs a bridge";
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.network = "none", x.ip = "10.0.0.2"; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.publish = {"80:80:80:80"}; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.ip = "fd00::2"; })) << "--ip is IPv4";
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.ip6 = "10.0.0.2"; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.mac_address = "zz"; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.add_hosts = {"nohost"}; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.dns = {"resolver.example"}; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.network = "container:web", x.dns = {"10.0.0.1"}; }));
  EXPECT_FALSE(bad([](ContainerConfig& x) {
    x.network = "app", x.publish = {"8080:80", "127.0.0.1::53/udp"}, x.ip = "10.1.0.5", x.add_hosts = {"db:10.0.0.5", "v6:[::1]"};
  }));
  EXPECT_EQ(parse_add_host("v6:[fd00::1]")->address, "fd00::1");
  EXPECT_EQ(parse_add_host("db=10.0.0.5")->names, std::vector<std::string>{"db"});
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.restart = "maybe"; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.auto_remove = true; }));  // with a restart policy
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.cap_add = {"NOT_A_CAP"}; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.log_stdout = "http://h/c"; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.env = {"=x"}; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.disk_size_mib = 2; }));
  // A build step's lower directories become overlayfs options: no separators, no relative paths.
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.lower_dirs = {"/a:/b"}; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.lower_dirs = {"/a,upperdir=/etc"}; }));
  EXPECT_TRUE(bad([](ContainerConfig& x) { x.lower_dirs = {"relative"}; }));
  EXPECT_FALSE(container_config_from_json(nlohmann::json{{"memory", "lots"}}));
}

TEST(VolumeSpec, Forms) {
  auto named = parse_volume_spec("data:/d:ro");
  ASSERT_TRUE(named);
  EXPECT_TRUE(named->named());
  EXPECT_TRUE(named->read_only);
  auto bind = parse_volume_spec("/h:/c");
  ASSERT_TRUE(bind);
  EXPECT_FALSE(bind->named());
  for (const char* bad : {"x", "data:rel", "data:/", "/h/../etc:/c", "data:/d:rx", "bad name:/d", "/a,b:/c", ":/c"})
    EXPECT_FALSE(parse_volume_spec(bad)) << bad;
}

TEST(ContainerArgs, DockerRules) {
  ImageConfig img;
  img.entrypoint = {"/entry"};
  img.cmd = {"default"};
  ContainerConfig c;
  EXPECT_EQ(container_args(c, img), (std::vector<std::string>{"/entry", "default"}));
  c.cmd = {"mine"};
  EXPECT_EQ(container_args(c, img), (std::vector<std::string>{"/entry", "mine"}));
  c.entrypoint = std::vector<std::string>{"/other"};
  c.cmd = {};
  EXPECT_EQ(container_args(c, img), (std::vector<std::string>{"/other"})) << "--entrypoint drops the image's cmd";
}

TEST(BuildSpec, SecureDefaultsAndOverrides) {
  ImageConfig img;
  img.cmd = {"sh"};
  img.env = {"A=image", "B=image"};
  ContainerConfig c;
  c.env = {"B=user"};
  c.memory = 64 << 20;
  c.cpus = 1.5;
  c.pids_limit = 10;
  SpecInputs in{"0123456789abcdef", "/r", 1000, 100, {7}, {{"/data", "bind", "/srv", {"rbind", "ro"}}}, "/tiffin/x", "/run/tiffin/netns/x"};
  auto spec = build_spec(c, img, in);
  ASSERT_TRUE(spec);
  const runtime::Spec& s = *spec;
  EXPECT_EQ(s.root_path, "/r");
  EXPECT_EQ(s.hostname, "0123456789ab");
  EXPECT_EQ(s.process.user.uid, 1000u);
  EXPECT_EQ(s.process.user.additional_gids, std::vector<uint32_t>{7});
  EXPECT_TRUE(s.process.no_new_privileges);
  const auto& env = s.process.env;
  EXPECT_NE(std::find(env.begin(), env.end(), "A=image"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "B=user"), env.end());
  EXPECT_EQ(std::find(env.begin(), env.end(), "B=image"), env.end());
  EXPECT_EQ(s.linux.resources.memory_limit, 64 << 20);
  EXPECT_EQ(s.linux.resources.cpu_quota, 150000);
  EXPECT_EQ(s.linux.resources.pids_limit, 10);
  EXPECT_TRUE(s.linux.seccomp);
  EXPECT_EQ(std::find(s.process.capabilities.bounding.begin(), s.process.capabilities.bounding.end(), "CAP_SYS_ADMIN"),
      s.process.capabilities.bounding.end());
  auto net = std::find_if(s.linux.namespaces.begin(), s.linux.namespaces.end(), [](auto& n) { return n.type == "network"; });
  ASSERT_NE(net, s.linux.namespaces.end());
  EXPECT_EQ(net->path, "/run/tiffin/netns/x") << "the engine's network namespace is joined";
  EXPECT_EQ(s.mounts.back().destination, "/data");
  // What the runtime reads back is what the engine built: one typed model, both ways.
  auto back = runtime::parse_spec(runtime::spec_to_json(s), "/bundle");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);

  c.network = "host";
  c.privileged = true;
  auto host = build_spec(c, img, in);
  ASSERT_TRUE(host);
  for (const auto& ns : host->linux.namespaces) EXPECT_NE(ns.type, "network");
  EXPECT_FALSE(host->linux.seccomp);
  EXPECT_FALSE(host->process.no_new_privileges);

  ImageConfig none;
  EXPECT_FALSE(build_spec(ContainerConfig{}, none, in)) << "no command at all";
}

}  // namespace
}  // namespace tiffin::engine
