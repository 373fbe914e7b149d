// The typed config.json model both ways: spec_to_json writes every field parse_spec reads, so a
// Spec built in code (the engine's, `tiffin-oci spec`'s) reads back equal; and the typed defaults
// are what `tiffin-oci spec` writes.
#include <gtest/gtest.h>

#include "common/fd.hpp"
#include "oci/oci_cli.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/secure_defaults.hpp"
#include "runtime/spec.hpp"
#include "test_support.hpp"

namespace tiffin::runtime {
namespace {

// A spec with every field parse_spec reads set to something other than its default.
Spec everything() {
  Spec s;
  s.oci_version = "1.0.2";
  s.annotations = {{"org.example.a", "1"}, {"org.example.b", "two"}};
  s.root_path = "/bundles/b/rootfs";
  s.root_readonly = true;
  s.hostname = "host";
  s.domainname = "example.org";
  Process& p = s.process;
  p.terminal = true;
  p.console_size = ConsoleSize{40, 120};
  p.user = User{1000, 1001, 027, {5, 6}};
  p.args = {"sh", "-c", "echo \"quoted\"\n"};
  p.env = {"PATH=/bin", "A=b=c"};
  p.cwd = "/work";
  p.capabilities = Capabilities{{"CAP_CHOWN"}, {"CAP_KILL"}, {"CAP_NET_RAW"}, {"CAP_SETUID"}, {"CAP_SETGID"}};
  p.rlimits = {Rlimit{"RLIMIT_NOFILE", 512, 1024}, Rlimit{"RLIMIT_CORE", 0, 0}};
  p.no_new_privileges = true;
  p.oom_score_adj = -200;
  p.apparmor_profile = "docker-default";
  p.selinux_label = "system_u:system_r:container_t:s0";
  s.mounts = {
      Mount{"/data", "bind", "data", {"rbind", "ro", "rslave"}}, Mount{"/tmp", "tmpfs", "tmpfs", {"size=1m"}}, Mount{"/empty", "", "", {}}};
  Hook h{"/bin/hook", {"hook", "x"}, {"K=V"}, 7};
  s.hooks = Hooks{{h}, {h}, {Hook{"/bin/true", {}, {}, std::nullopt}}, {h}, {h}, {h}};
  Linux& l = s.linux;
  l.namespaces = {
      Namespace{"pid", ""}, Namespace{"network", "/proc/1/ns/net"}, Namespace{"mount", ""}, Namespace{"user", ""}, Namespace{"uts", ""}};
  l.uid_mappings = {IdMapping{0, 100000, 65536}};
  l.gid_mappings = {IdMapping{0, 200000, 1000}, IdMapping{1000, 300000, 10}};
  l.sysctl = {{"net.ipv4.ip_forward", "1"}};
  l.resources = Resources{4 << 20, 2 << 20, 8 << 20, 512, 50000, 100000, "0-1", "0", 64,
      {DeviceRule{true, "c", "rw", 1, 3}, DeviceRule{false, "a", "rwm", std::nullopt, std::nullopt}}};
  Resources& r = l.resources;
  r.memory_kernel = 1 << 20;
  r.memory_kernel_tcp = 2 << 20;
  r.memory_swappiness = 10;
  r.disable_oom_killer = true;
  r.use_hierarchy = false;
  r.cpu_burst = 10;
  r.cpu_realtime_runtime = 950000;
  r.cpu_realtime_period = 1000000;
  r.cpu_idle = 1;
  r.block_io = BlockIO{500, 100, {WeightDevice{8, 0, 300, 50}, WeightDevice{8, 16, std::nullopt, 70}}, {ThrottleDevice{8, 0, 1000}},
      {ThrottleDevice{8, 0, 2000}}, {ThrottleDevice{8, 0, 30}}, {ThrottleDevice{8, 0, 40}}};
  r.hugepage_limits = {HugepageLimit{"2MB", 4 << 20}, HugepageLimit{"1GB", 0}};
  r.net_class_id = 0x100001;
  r.net_priorities = {NetPriority{"eth0", 5}};
  r.rdma = {{"mlx5_0", RdmaLimit{3, std::nullopt}}};
  r.unified = {{"memory.high", "1000000"}};
  l.cgroups_path = "/tiffin/test";
  l.mount_label = "system_u:object_r:container_file_t:s0";
  l.seccomp = Seccomp{"SCMP_ACT_ERRNO", 1, {"SCMP_ARCH_X86_64"}, {"SECCOMP_FILTER_FLAG_LOG"},
      {SeccompRule{{"read", "write"}, "SCMP_ACT_ALLOW", std::nullopt, {}},
          SeccompRule{{"personality"}, "SCMP_ACT_ERRNO", 38,
              {SeccompArg{0, 8, 0, "SCMP_CMP_EQ"}, SeccompArg{1, 0xff, 0x0f, "SCMP_CMP_MASKED_EQ"}}}}};
  l.masked_paths = {"/proc/kcore"};
  l.readonly_paths = {"/proc/sys"};
  l.rootfs_propagation = "rshared";
  l.devices = {Device{"/dev/fuse", "c", 10, 229, 0666, 0, 0}, Device{"/dev/fifo", "p", 0, 0, std::nullopt, std::nullopt, std::nullopt}};
  return s;
}

TEST(SpecWrite, EveryFieldRoundTrips) {
  const Spec s = everything();
  for (bool pretty : {false, true}) {
    auto back = parse_spec(spec_to_json(s, pretty), "/elsewhere");
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(*back, s) << spec_to_json(s, true);
  }
  // Each part on its own matters to the comparison (operator== is not vacuous).
  Spec other = s;
  other.linux.seccomp->syscalls[1].args[1].value_two = 1;
  EXPECT_NE(other, s);
}

TEST(SpecWrite, TheDefaultSpecRoundTrips) {
  auto back = parse_spec(spec_to_json(default_spec()), "/bundles/b1");
  ASSERT_TRUE(back) << back.error().what();
  Spec want = default_spec();
  want.root_path = "/bundles/b1/rootfs";  // relative in config.json, resolved on reading
  EXPECT_EQ(*back, want);
  // The JSON text form the engine still uses says the same.
  EXPECT_EQ(parse_spec(default_spec_json(), "/bundles/b1").value_or(Spec{}), want);
}

TEST(SpecWrite, DefaultSeccompIsTypedAndFollowsTheCapabilities) {
  Seccomp plain = default_seccomp(docker_default_capabilities());
  EXPECT_EQ(plain, *default_spec().linux.seccomp);
  EXPECT_EQ(plain.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(plain.default_errno_ret, 1u);
  auto names = [](const Seccomp& s) {
    std::vector<std::string> out;
    for (const auto& r : s.syscalls)
      if (r.action == "SCMP_ACT_ALLOW") out.insert(out.end(), r.names.begin(), r.names.end());
    return out;
  };
  auto has = [&](const Seccomp& s, const std::string& n) {
    auto v = names(s);
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  EXPECT_FALSE(has(plain, "mount"));
  auto caps = docker_default_capabilities();
  caps.push_back("CAP_SYS_ADMIN");
  EXPECT_TRUE(has(default_seccomp(caps), "mount"));
  // Its text form is the typed one written out.
  Spec wrap = default_spec();
  auto back = parse_spec(spec_to_json(wrap), "/b");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back->linux.seccomp, plain);
  EXPECT_NE(default_seccomp_json(caps).find("\"mount\""), std::string::npos);
}

TEST(SpecWrite, TiffinOciSpecWritesTheDefaultSpec) {
  test::TempDir dir;
  std::string bundle = dir.path();
  std::vector<std::string> args = {"tiffin-oci", "spec", "--bundle", bundle};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ASSERT_EQ(oci::oci_main(static_cast<int>(argv.size()), argv.data()), 0);
  auto text = read_file(bundle + "/config.json");
  ASSERT_TRUE(text);
  auto written = parse_spec(std::string(text->begin(), text->end()), bundle);
  ASSERT_TRUE(written) << written.error().what();
  Spec want = default_spec();
  want.root_path = bundle + "/rootfs";
  EXPECT_EQ(*written, want);
  // A second time refuses to overwrite, as runc does.
  EXPECT_EQ(oci::oci_main(static_cast<int>(argv.size()), argv.data()), 1);
}

}  // namespace
}  // namespace tiffin::runtime
