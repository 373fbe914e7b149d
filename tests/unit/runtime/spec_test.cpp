#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "runtime/spec.hpp"
#include "runtime/secure_defaults.hpp"
#include "runtime/capabilities.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::runtime;
using json = nlohmann::json;

namespace {

json base() { return json::parse(default_spec_json()); }

// The error of parsing `j`; fails the test when it parses.
std::string error_of(const json& j) {
  auto r = parse_spec(j.dump(), "/bundle");
  EXPECT_FALSE(r) << "parsed: " << j.dump();
  if (r) return "";
  EXPECT_EQ(r.error().kind, Errc::invalid_input);
  return r.error().what();
}

}  // namespace

TEST(Spec, TheDefaultSpecParses) {
  auto spec = parse_spec(default_spec_json(), "/bundles/b1");
  ASSERT_TRUE(spec) << spec.error().what();
  EXPECT_EQ(spec->root_path, "/bundles/b1/rootfs");
  EXPECT_TRUE(spec->root_readonly);
  EXPECT_EQ(spec->process.args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(spec->process.no_new_privileges);
  EXPECT_EQ(spec->process.capabilities.bounding, docker_default_capabilities());
  ASSERT_TRUE(spec->linux.seccomp);
  EXPECT_EQ(spec->linux.seccomp->default_action, "SCMP_ACT_ERRNO");
  ASSERT_EQ(spec->process.rlimits.size(), 1u);
  EXPECT_EQ(spec->process.rlimits[0].hard, 1024u);
  EXPECT_EQ(spec->linux.namespaces.size(), 6u);
  EXPECT_TRUE(spec->linux.has_namespace("cgroup"));
  EXPECT_FALSE(spec->linux.has_namespace("user"));
  EXPECT_EQ(spec->mounts.size(), 7u);
  EXPECT_EQ(spec->mounts[2].destination, "/dev/pts");
  EXPECT_EQ(spec->linux.masked_paths, default_masked_paths());
  ASSERT_EQ(spec->linux.resources.devices.size(), 1u);
  EXPECT_FALSE(spec->linux.resources.devices[0].allow);
}

TEST(Spec, ReadsEverySectionTheRuntimeActsOn) {
  json j = base();
  j["root"]["path"] = "/abs/../abs/rootfs";
  j["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"umask", 18}, {"additionalGids", {5, 6}}};
  j["process"]["oomScoreAdj"] = -500;
  j["hooks"] = {{"prestart", {{{"path", "/bin/true"}, {"args", {"true"}}, {"timeout", 5}}}}, {"poststop", {{{"path", "/bin/false"}}}}};
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  j["linux"]["namespaces"][1]["path"] = "/proc/1/ns/net";
  j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  j["linux"]["resources"]["memory"] = {{"limit", 67108864}, {"swap", -1}};
  j["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0-1"}};
  j["linux"]["resources"]["pids"] = {{"limit", 64}};
  j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", 1}, {"architectures", {"SCMP_ARCH_X86_64"}},
      {"syscalls",
          {{{"names", {"personality"}}, {"action", "SCMP_ACT_ALLOW"}, {"args", {{{"index", 0}, {"value", 8}, {"op", "SCMP_CMP_EQ"}}}}}}}};
  auto spec = parse_spec(j.dump(), "/bundle");
  ASSERT_TRUE(spec) << spec.error().what();
  EXPECT_EQ(spec->root_path, "/abs/rootfs");
  EXPECT_EQ(spec->process.user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(*spec->process.user.umask, 18u);
  EXPECT_EQ(*spec->process.oom_score_adj, -500);
  ASSERT_EQ(spec->hooks.prestart.size(), 1u);
  EXPECT_EQ(*spec->hooks.prestart[0].timeout, 5);
  EXPECT_EQ(spec->hooks.poststop.size(), 1u);
  EXPECT_EQ(spec->linux.namespaces[1].path, "/proc/1/ns/net");
  EXPECT_EQ(spec->linux.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(spec->linux.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(*spec->linux.resources.memory_limit, 67108864);
  EXPECT_EQ(*spec->linux.resources.memory_swap, -1);
  EXPECT_EQ(*spec->linux.resources.cpu_shares, 512u);
  EXPECT_EQ(spec->linux.resources.cpuset_cpus, "0-1");
  EXPECT_EQ(*spec->linux.resources.pids_limit, 64);
  ASSERT_TRUE(spec->linux.seccomp);
  EXPECT_EQ(spec->linux.seccomp->syscalls[0].args[0].op, "SCMP_CMP_EQ");
}

TEST(Spec, RefusesWhatItCannotMeanClearly) {
  EXPECT_NE(parse_spec("{nope", "/b").error().what().find("not valid JSON"), std::string::npos);
  struct Case {
    const char* expect;
    std::function<void(json&)> change;
  };
  std::vector<Case> cases = {
      {"ociVersion", [](json& j) { j.erase("ociVersion"); }},
      {"unsupported version", [](json& j) { j["ociVersion"] = "2.0.0"; }},
      {"process: is required", [](json& j) { j.erase("process"); }},
      {"process.args: must be an array", [](json& j) { j["process"]["args"] = "sh"; }},
      {"must name a program", [](json& j) { j["process"]["args"] = json::array(); }},
      {"not KEY=value", [](json& j) { j["process"]["env"] = {"NOVALUE"}; }},
      {"process.cwd", [](json& j) { j["process"]["cwd"] = "relative"; }},
      {"unknown capability CAP_FLY", [](json& j) { j["process"]["capabilities"]["bounding"] = {"CAP_FLY"}; }},
      {"unknown rlimit", [](json& j) { j["process"]["rlimits"][0]["type"] = "RLIMIT_PIZZA"; }},
      {"soft limit above", [](json& j) { j["process"]["rlimits"][0]["soft"] = 4096; }},
      {"out of range", [](json& j) { j["process"]["user"]["uid"] = -1; }},
      {"out of range", [](json& j) { j["process"]["user"]["gid"] = 1ull << 33; }},
      {"-1000..1000", [](json& j) { j["process"]["oomScoreAdj"] = 5000; }},
      {"root.path", [](json& j) { j["root"].erase("path"); }},
      {"must be an absolute path", [](json& j) { j["mounts"][0]["destination"] = "proc"; }},
      {"unknown namespace", [](json& j) { j["linux"]["namespaces"][0]["type"] = "time-travel"; }},
      {"given twice",
          [](json& j) {
            j["linux"]["namespaces"].push_back({{"type", "pid"}});
          }},
      {"need a user namespace",
          [](json& j) {
            j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
          }},
      {"mappings overlap",
          [](json& j) {
            j["linux"]["namespaces"].push_back({{"type", "user"}});
            j["linux"]["uidMappings"] = {
                {{"containerID", 0}, {"hostID", 1000}, {"size", 10}}, {{"containerID", 5}, {"hostID", 5000}, {"size", 10}}};
          }},
      {"size must be positive",
          [](json& j) {
            j["linux"]["namespaces"].push_back({{"type", "user"}});
            j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 0}}};
          }},
      {"unknown action",
          [](json& j) {
            j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_MAYBE"}};
          }},
      {"unknown operator",
          [](json& j) {
            j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                {"syscalls", {{{"names", {"read"}}, {"action", "SCMP_ACT_ERRNO"},
                                 {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_ROUGHLY"}}}}}}}};
          }},
      {"at most 6 arguments",
          [](json& j) {
            j["linux"]["seccomp"] = {
                {"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", {{{"names", {"read"}}, {"action", "SCMP_ACT_ERRNO"},
                                                                      {"args", {{{"index", 6}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
          }},
      {"needs a uts namespace", [](json& j) { j["linux"]["namespaces"].erase(3); }},
      {"hooks.prestart[0].path",
          [](json& j) {
            j["hooks"] = {{"prestart", {{{"path", "relative/hook"}}}}};
          }},
      {"invalid entry",
          [](json& j) {
            j["linux"]["sysctl"] = {{"../../etc/passwd", "x"}};
          }},
      {"rootfsPropagation", [](json& j) { j["linux"]["rootfsPropagation"] = "sideways"; }},
      {"swappiness: must be 0 to 100",
          [](json& j) {
            j["linux"]["resources"]["memory"] = {{"swappiness", 101}};
          }},
      {"blockIO.weight: must be 10 to 1000",
          [](json& j) {
            j["linux"]["resources"]["blockIO"] = {{"weight", 5}};
          }},
      {"major and minor are required",
          [](json& j) {
            j["linux"]["resources"]["blockIO"] = {{"throttleReadBpsDevice", {{{"major", 8}, {"rate", 1}}}}};
          }},
      {"not a page size",
          [](json& j) {
            j["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2M"}, {"limit", 1}}};
          }},
      {"hugepageLimits[0].limit: is required",
          [](json& j) {
            j["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}}};
          }},
      {"not an interface name",
          [](json& j) {
            j["linux"]["resources"]["network"] = {{"priorities", {{{"name", "a/b"}, {"priority", 1}}}}};
          }},
      {"unified: invalid entry ../x",
          [](json& j) {
            j["linux"]["resources"]["unified"] = {{"../x", "1"}};
          }},
  };
  for (const auto& c : cases) {
    json j = base();
    c.change(j);
    std::string err = error_of(j);
    EXPECT_NE(err.find(c.expect), std::string::npos) << "wanted '" << c.expect << "' in: " << err;
  }
}

// -1 is how runc's callers leave swappiness unset.
TEST(Spec, SwappinessMinusOneIsUnset) {
  json j = base();
  j["linux"]["resources"]["memory"] = {{"swappiness", -1}};
  auto r = parse_spec(j.dump(), "/bundle");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->linux.resources.memory_swappiness);
}

TEST(Spec, LoadChecksTheBundle) {
  test::TempDir dir;
  EXPECT_FALSE(load_spec(dir.path()));  // no config.json
  test::write_text(dir / "config.json", default_spec_json());
  auto missing = load_spec(dir.path());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().what().find("is not a directory"), std::string::npos);
  ::mkdir((dir / "rootfs").c_str(), 0755);
  auto spec = load_spec(dir.path());
  ASSERT_TRUE(spec) << spec.error().what();
  EXPECT_EQ(spec->root_path, dir / "rootfs");
}
