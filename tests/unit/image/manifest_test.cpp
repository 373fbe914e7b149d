// Manifests, indexes and image configs as registries serve them, and what hostile documents get.
#include "image/manifest.hpp"

#include <gtest/gtest.h>

using namespace tiffin;
using namespace tiffin::image;

namespace {

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

std::string docker_manifest() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":")" +
         kA + R"("},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":3408729,"digest":")" +
         kB + R"("}]})";
}

std::string oci_index() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kA + R"(","size":100,"platform":{"architecture":"amd64","os":"linux"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kB + R"(","size":100,"platform":{"architecture":"arm","os":"linux","variant":"v6"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kC + R"(","size":100,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kC + R"(","size":100,"platform":{"architecture":"unknown","os":"unknown"}}]})";
}

}  // namespace

TEST(Manifest, DockerManifest) {
  auto d = parse_manifest(bytes(docker_manifest()), "application/vnd.docker.distribution.manifest.v2+json");
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d->manifest);
  EXPECT_FALSE(d->index);
  EXPECT_EQ(d->manifest->media_type, media_type::docker_manifest);
  EXPECT_EQ(d->manifest->config.digest, kA);
  EXPECT_EQ(d->manifest->config.size, 1469u);
  ASSERT_EQ(d->manifest->layers.size(), 1u);
  EXPECT_EQ(d->manifest->layers[0].size, 3408729u);
  EXPECT_EQ(*layer_compression(d->manifest->layers[0].media_type), LayerCompression::gzip);
}

TEST(Manifest, IndexAndTypeFromBodyOrShape) {
  for (const std::string ct : {"application/vnd.oci.image.index.v1+json", "", "application/json", "text/plain; charset=utf-8"}) {
    auto d = parse_manifest(bytes(oci_index()), ct);
    ASSERT_TRUE(d) << ct << ": " << d.error().message;
    ASSERT_TRUE(d->index) << ct;
    EXPECT_EQ(d->index->manifests.size(), 4u);
    EXPECT_EQ(d->index->media_type, media_type::oci_index);
  }
  // Neither header nor mediaType: an OCI manifest by its shape.
  std::string bare = R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + kA +
                     R"(","size":2},"layers":[]})";
  auto d = parse_manifest(bytes(bare), "");
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d->manifest);
  EXPECT_EQ(d->manifest->media_type, media_type::oci_manifest);
  // Content-Type parameters are ignored.
  d = parse_manifest(bytes(docker_manifest()), "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8");
  ASSERT_TRUE(d && d->manifest);
}

TEST(Manifest, Refuses) {
  std::string ct = media_type::oci_manifest;
  const std::vector<std::pair<std::string, Errc>> bad = {
      {"", Errc::invalid_input},
      {"[]", Errc::invalid_input},
      {"{", Errc::invalid_input},
      {"null", Errc::invalid_input},
      {R"({"schemaVersion":1})", Errc::unsupported},
      {R"({"schemaVersion":"2"})", Errc::invalid_input},
      {R"({"mediaType":5})", Errc::invalid_input},
      {R"({"schemaVersion":2})", Errc::invalid_input},  // no config
      {R"({"config":{},"layers":[]})", Errc::invalid_input},
      {R"({"config":{"mediaType":"x","digest":"sha256:1","size":1},"layers":[]})", Errc::invalid_input},
      {R"({"config":{"mediaType":"x","digest":")" + kA + R"(","size":-1},"layers":[]})", Errc::invalid_input},
      {R"({"config":{"mediaType":"x","digest":")" + kA + R"(","size":1.5},"layers":[]})", Errc::invalid_input},
      {R"({"config":{"mediaType":"x","digest":")" + kA + R"(","size":"1"},"layers":[]})", Errc::invalid_input},
      {R"({"config":{"mediaType":"x","digest":")" + kA + R"(","size":1},"layers":{}})", Errc::invalid_input},
      {R"({"config":{"mediaType":"x","digest":")" + kA + R"(","size":1},"layers":[1]})", Errc::invalid_input},
      {R"({"config":{"mediaType":"x","digest":")" + kA +
              R"(","size":1},"layers":[],"mediaType":"application/vnd.oci.image.index.v1+json"})",
          Errc::invalid_input},  // served as a manifest, says it is an index
      {R"({"config":{"mediaType":"x","digest":")" + kA + R"(","size":1,"urls":[1]},"layers":[]})", Errc::invalid_input},
  };
  for (const auto& [doc, kind] : bad) {
    auto d = parse_manifest(bytes(doc), ct);
    EXPECT_FALSE(d) << doc;
    if (!d) {
      EXPECT_EQ(d.error().kind, kind) << doc << ": " << d.error().message;
    }
  }
  auto idx = parse_manifest(
      bytes(R"({"manifests":[{"mediaType":"x","digest":")" + kA + R"(","size":1,"platform":{"os":"linux"}}]})"), media_type::oci_index);
  EXPECT_FALSE(idx);  // a platform without an architecture
  idx = parse_manifest(bytes(R"({"manifests":{}})"), media_type::oci_index);
  EXPECT_FALSE(idx);
  auto v1 = parse_manifest(bytes("{}"), "application/vnd.docker.distribution.manifest.v1+prettyjws");
  ASSERT_FALSE(v1);
  EXPECT_EQ(v1.error().kind, Errc::unsupported);
  auto unknown = parse_manifest(bytes(R"({"mediaType":"application/vnd.example+json"})"), "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, Errc::unsupported);
}

TEST(Manifest, ToJsonRoundTrips) {
  Manifest m;
  m.media_type = media_type::oci_manifest;
  m.config = {media_type::oci_config, kA, 12, std::nullopt, {}};
  m.layers.push_back({media_type::oci_layer_gzip, kB, 1000, std::nullopt, {}});
  m.layers.push_back({media_type::oci_layer_zstd, kC, 2000, std::nullopt, {"https://example.com/x"}});
  std::string text = manifest_to_json(m);
  EXPECT_EQ(text.rfind(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)", 0), 0u) << text;
  auto d = parse_manifest(bytes(text), "");
  ASSERT_TRUE(d && d->manifest) << text;
  EXPECT_EQ(d->manifest->config.digest, kA);
  ASSERT_EQ(d->manifest->layers.size(), 2u);
  EXPECT_EQ(d->manifest->layers[1].size, 2000u);
  EXPECT_EQ(d->manifest->layers[1].urls, std::vector<std::string>{"https://example.com/x"});
}

TEST(Manifest, LayerCompression) {
  EXPECT_EQ(*layer_compression("application/vnd.oci.image.layer.v1.tar"), LayerCompression::none);
  EXPECT_EQ(*layer_compression(media_type::oci_layer_gzip), LayerCompression::gzip);
  EXPECT_EQ(*layer_compression(media_type::oci_layer_zstd), LayerCompression::zstd);
  EXPECT_EQ(*layer_compression(media_type::docker_layer_gzip), LayerCompression::gzip);
  EXPECT_EQ(*layer_compression("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"), LayerCompression::gzip);
  EXPECT_EQ(*layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"), LayerCompression::zstd);
  auto r = layer_compression("application/vnd.in-toto+json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown layer media type"), std::string::npos);
}

TEST(Platform, Parse) {
  auto p = parse_platform("linux/amd64");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "linux/amd64");
  EXPECT_EQ(parse_platform("linux/arm/v7")->str(), "linux/arm/v7");
  EXPECT_EQ(parse_platform("arm64")->str(), "linux/arm64");
  EXPECT_EQ(parse_platform("linux/x86_64")->str(), "linux/amd64");
  EXPECT_EQ(parse_platform("linux/aarch64")->str(), "linux/arm64");
  EXPECT_EQ(parse_platform("Linux/AMD64")->str(), "linux/amd64");
  for (const char* bad : {"", "/", "linux/", "a/b/c/d", "linux/amd 64", "linux//v7"}) EXPECT_FALSE(parse_platform(bad)) << bad;
}

TEST(Platform, Host) {
  Platform h = host_platform();
  EXPECT_EQ(h.os, "linux");
  EXPECT_FALSE(h.architecture.empty());
#if defined(__x86_64__)
  EXPECT_EQ(h.str(), "linux/amd64");
#elif defined(__aarch64__)
  EXPECT_EQ(h.str(), "linux/arm64/v8");
#endif
}

TEST(Platform, FromMachine) {
  EXPECT_EQ(platform_from_machine("x86_64").str(), "linux/amd64");
  EXPECT_EQ(platform_from_machine("aarch64").str(), "linux/arm64/v8");
  EXPECT_EQ(platform_from_machine("armv7l").str(), "linux/arm/v7");
  EXPECT_EQ(platform_from_machine("armv6l").str(), "linux/arm/v6");
  EXPECT_EQ(platform_from_machine("armv8l").str(), "linux/arm/v7");
  EXPECT_EQ(platform_from_machine("i686").str(), "linux/386");
  EXPECT_EQ(platform_from_machine("ppc64le").str(), "linux/ppc64le");
  EXPECT_EQ(platform_from_machine("s390x").str(), "linux/s390x");
  EXPECT_EQ(platform_from_machine("riscv64").str(), "linux/riscv64");
}

TEST(Platform, Select) {
  auto d = parse_manifest(bytes(oci_index()), "");
  ASSERT_TRUE(d && d->index);
  const Index& idx = *d->index;
  EXPECT_EQ(select_platform(idx, *parse_platform("linux/amd64"))->digest, kA);
  // arm64 means v8 (containerd's default), either side.
  EXPECT_EQ(select_platform(idx, *parse_platform("linux/arm64"))->digest, kC);
  EXPECT_EQ(select_platform(idx, *parse_platform("linux/arm64/v8"))->digest, kC);
  EXPECT_EQ(select_platform(idx, *parse_platform("linux/arm64/8"))->digest, kC);
  EXPECT_EQ(select_platform(idx, *parse_platform("linux/arm/v6"))->digest, kB);
  // arm means v7: the v6 entry is not it.
  auto arm = select_platform(idx, *parse_platform("linux/arm"));
  ASSERT_FALSE(arm);
  EXPECT_EQ(arm.error().kind, Errc::not_found);
  EXPECT_NE(arm.error().message.find("linux/arm/v7"), std::string::npos) << arm.error().message;
  EXPECT_NE(arm.error().message.find("linux/arm/v6"), std::string::npos) << arm.error().message;
  EXPECT_FALSE(select_platform(idx, *parse_platform("windows/amd64")));
  EXPECT_FALSE(select_platform(idx, *parse_platform("linux/s390x")));
  // An exact variant wins over an entry without one.
  Index two{media_type::oci_index, {{"m", kA, 1, Platform{"linux", "amd64", ""}, {}}, {"m", kB, 1, Platform{"linux", "amd64", "v3"}, {}}}};
  EXPECT_EQ(select_platform(two, Platform{"linux", "amd64", "v3"})->digest, kB);
  EXPECT_EQ(select_platform(two, Platform{"linux", "amd64", ""})->digest, kA);
  EXPECT_EQ(select_platform(two, Platform{"linux", "amd64", "v1"})->digest, kA);
}

TEST(ImageConfig, Docker) {
  std::string cfg = R"({"architecture":"arm64","variant":"v8","os":"linux","created":"2024-01-01T00:00:00Z",
    "config":{"User":"nginx","Env":["PATH=/usr/bin","A=b"],"Entrypoint":["/docker-entrypoint.sh"],"Cmd":["nginx","-g","daemon off;"],
      "WorkingDir":"/srv","ExposedPorts":{"80/tcp":{},"53/udp":{},"8080":{}},"Volumes":{"/data":{},"/logs":{}},
      "Labels":{"maintainer":"x","org.opencontainers.image.version":"1"},"StopSignal":"SIGQUIT",
      "Healthcheck":{"Test":["CMD-SHELL","curl -f http://localhost/"],"Interval":30000000000,"Timeout":5000000000,
        "StartPeriod":1000000000,"Retries":3},"OnBuild":null},
    "rootfs":{"type":"layers","diff_ids":[")" +
                    kA + R"(",")" + kB + R"("]},"history":[{"created_by":"x"}]})";
  auto d = parse_image_config(bytes(cfg));
  ASSERT_TRUE(d) << d.error().message;
  const ImageConfig& c = d->config;
  EXPECT_EQ(c.user, "nginx");
  EXPECT_EQ(c.env, (std::vector<std::string>{"PATH=/usr/bin", "A=b"}));
  EXPECT_EQ(c.entrypoint, std::vector<std::string>{"/docker-entrypoint.sh"});
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(c.workdir, "/srv");
  EXPECT_EQ(c.ports, (std::vector<std::string>{"53/udp", "80/tcp", "8080/tcp"}));
  EXPECT_EQ(c.volumes, (std::vector<std::string>{"/data", "/logs"}));
  EXPECT_EQ(c.labels.at("maintainer"), "x");
  EXPECT_EQ(c.stop_signal, "SIGQUIT");
  EXPECT_EQ(c.healthcheck.test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/"}));
  EXPECT_EQ(c.healthcheck.interval_ns, 30000000000);
  EXPECT_EQ(c.healthcheck.timeout_ns, 5000000000);
  EXPECT_EQ(c.healthcheck.start_period_ns, 1000000000);
  EXPECT_EQ(c.healthcheck.retries, 3);
  EXPECT_EQ(d->diff_ids, (std::vector<std::string>{kA, kB}));
  EXPECT_EQ(d->platform.str(), "linux/arm64/v8");
  EXPECT_EQ(d->created, "2024-01-01T00:00:00Z");
}

TEST(ImageConfig, NullsAndMinimal) {
  auto d = parse_image_config(bytes(R"({"config":{"Cmd":null,"Env":null,"Labels":null,"ExposedPorts":null},"rootfs":{"diff_ids":[]}})"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->config.empty());
  EXPECT_EQ(d->platform.os, "linux");
  d = parse_image_config(bytes("{}"));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->diff_ids.empty());
}

TEST(ImageConfig, Refuses) {
  for (const std::string bad :
      {"", "[]", "{", R"({"config":[]})", R"({"config":{"Cmd":"sh"}})", R"({"config":{"Cmd":[1]}})", R"({"config":{"Env":{}}})",
          R"({"config":{"User":1}})", R"({"config":{"ExposedPorts":["80/tcp"]}})", R"({"config":{"ExposedPorts":{"http":{}}}})",
          R"({"config":{"ExposedPorts":{"80/xyz":{}}}})", R"({"config":{"ExposedPorts":{"70000/tcp":{}}}})",
          R"({"config":{"Labels":{"a":1}}})", R"({"config":{"Healthcheck":[]}})", R"({"config":{"Healthcheck":{"Interval":"30s"}}})",
          R"({"config":{"Healthcheck":{"Retries":-1}}})", R"({"config":{"Healthcheck":{"Interval":1.5}}})", R"({"rootfs":[]})",
          R"({"rootfs":{"diff_ids":["sha256:x"]}})", R"({"architecture":7})", R"({"config":{"Volumes":{"/a":{}},"StopSignal":9}})"}) {
    auto d = parse_image_config(bytes(bad));
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_EQ(d.error().kind, Errc::invalid_input) << bad;
    }
  }
}
