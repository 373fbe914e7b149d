// The runtime's pure parts, testable without root: mount options, the cgroup layout and resource
// translation, seccomp compilation, signal names, container ids and the default profile.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include "runtime/capabilities.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/cgroup_layout.hpp"
#include "runtime/cgroup_settings.hpp"
#include "runtime/container.hpp"
#include "runtime/container_state.hpp"
#include "runtime/mount_options.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/secure_defaults.hpp"
#include "test_support.hpp"

namespace tiffin::runtime {
namespace {

TEST(MountOptions, FlagsPropagationAndData) {
  auto o = parse_mount_options({"nosuid", "noexec", "rbind", "ro", "rslave", "mode=755", "size=64k"});
  ASSERT_TRUE(o) << o.error().what();
  EXPECT_EQ(o->flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_EQ(o->propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o->data, "mode=755,size=64k");
  EXPECT_TRUE(o->is_bind());
}

TEST(MountOptions, LaterWordsWinAndClearFlags) {
  auto o = parse_mount_options({"ro", "rw", "nosuid", "suid"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->flags, 0u);
  EXPECT_EQ(o->clear_flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  EXPECT_FALSE(parse_mount_options({""}));
  EXPECT_EQ(propagation_flags("private"), static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(propagation_flags("runbindable"), static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
  EXPECT_EQ(propagation_flags("bogus"), 0u);
}

const char* kHybridMountinfo =
    "30 23 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw\n"
    "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:8 - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:9 - cgroup cgroup rw,memory\n"
    "35 30 0:31 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,name=systemd\n"
    "36 23 0:31 / /mnt/again rw shared:10 - cgroup cgroup rw,memory\n"
    "37 23 0:40 / /proc rw - proc proc rw\n";

TEST(CgroupLayout, RecognisesHybrid) {
  auto l = parse_cgroup_layout(kHybridMountinfo, "hugetlb\n");
  ASSERT_TRUE(l) << l.error().what();
  EXPECT_EQ(l->mode, CgroupMode::hybrid);
  ASSERT_EQ(l->hierarchies.size(), 4u);  // the second memory mount adds nothing
  EXPECT_TRUE(l->hierarchies[0].v2);
  EXPECT_EQ(l->unified()->controllers, std::vector<std::string>{"hugetlb"});
  EXPECT_EQ(l->find("cpuacct")->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(l->find("name=systemd")->mount_point, "/sys/fs/cgroup/systemd");
  EXPECT_EQ(l->find("pids"), nullptr);
}

TEST(CgroupLayout, PureV1PureV2AndNone) {
  auto v2 = parse_cgroup_layout("31 23 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "cpu memory pids");
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->mode, CgroupMode::v2);
  EXPECT_TRUE(v2->find("memory") != nullptr);
  auto v1 = parse_cgroup_layout("34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->mode, CgroupMode::v1);
  EXPECT_FALSE(parse_cgroup_layout("37 23 0:40 / /proc rw - proc proc rw\n"));
}

TEST(CgroupLayout, OwnCgroupFromProcSelf) {
  auto l = parse_cgroup_layout(kHybridMountinfo, "hugetlb");
  std::string self = "12:memory:/user.slice\n3:cpu,cpuacct:/a/b\n0::/init.scope\n";
  EXPECT_EQ(own_cgroup(self, *l->find("memory")), "/user.slice");
  EXPECT_EQ(own_cgroup(self, *l->find("cpu")), "/a/b");
  EXPECT_EQ(own_cgroup(self, *l->unified()), "/init.scope");
}

TEST(CgroupSettings, V1TranslationAndDeviceDefaults) {
  Resources r;
  r.memory_limit = 64 << 20;
  r.cpu_shares = 512;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  r.pids_limit = 0;
  r.devices.push_back({false, "a", "rwm", {}, {}});
  r.devices.push_back({true, "c", "rw", 10, {}});
  auto w = cgroup_v1_writes(r);
  auto has = [&](const std::string& file, const std::string& value) {
    return std::any_of(w.begin(), w.end(), [&](auto& x) { return x.file == file && x.value == value; });
  };
  EXPECT_TRUE(has("memory.limit_in_bytes", std::to_string(64 << 20)));
  EXPECT_TRUE(has("cpu.shares", "512"));
  EXPECT_TRUE(has("pids.max", "max"));
  EXPECT_TRUE(has("devices.deny", "a"));
  EXPECT_TRUE(has("devices.allow", "c 10:* rw"));
  EXPECT_TRUE(has("devices.allow", "c 1:3 rwm"));  // /dev/null always
  auto period = std::find_if(w.begin(), w.end(), [](auto& x) { return x.file == "cpu.cfs_period_us"; });
  auto quota = std::find_if(w.begin(), w.end(), [](auto& x) { return x.file == "cpu.cfs_quota_us"; });
  EXPECT_LT(period, quota);
}

TEST(CgroupSettings, V2TranslationScalesAndSubtracts) {
  Resources r;
  r.memory_limit = 100;
  r.memory_swap = 300;
  r.cpu_shares = 1024;
  r.cpu_quota = 20000;
  auto w = cgroup_v2_writes(r);
  auto value = [&](const std::string& file) {
    for (auto& x : w)
      if (x.file == file) return x.value;
    return std::string("<none>");
  };
  EXPECT_EQ(value("memory.max"), "100");
  EXPECT_EQ(value("memory.swap.max"), "200");
  EXPECT_EQ(value("cpu.weight"), "39");
  EXPECT_EQ(value("cpu.max"), "20000 100000");
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
}

namespace {
const CgroupWrite* find_write(const std::vector<CgroupWrite>& w, const std::string& field) {
  for (auto& x : w)
    if (x.field == field) return &x;
  return nullptr;
}
}  // namespace

// Every field beyond the basic ones: a file and value where the version has one, a refusal
// with its reason where it has none. None is dropped.
TEST(CgroupSettings, EveryFieldIsWrittenOrRefused) {
  Resources r;
  r.memory_kernel = 1 << 20;
  r.memory_kernel_tcp = 2 << 20;
  r.memory_swappiness = 30;
  r.disable_oom_killer = true;
  r.cpu_burst = 1000;
  r.cpu_realtime_runtime = 0;
  r.cpu_idle = 1;
  r.block_io.weight = 500;
  r.block_io.leaf_weight = 200;
  r.block_io.weight_device = {WeightDevice{8, 0, 300, std::nullopt}};
  r.block_io.throttle_read_bps = {ThrottleDevice{8, 0, 1 << 20}};
  r.block_io.throttle_write_iops = {ThrottleDevice{8, 16, 100}};
  r.hugepage_limits = {HugepageLimit{"2MB", 4 << 20}};
  r.net_class_id = 42;
  r.net_priorities = {NetPriority{"eth0", 5}};
  r.rdma = {{"mlx5_0", RdmaLimit{3, std::nullopt}}};
  r.unified = {{"memory.high", "1000000"}};
  struct Want {
    const char* field;
    const char* v1_file;  // "" = refused
    const char* v1_value;
    const char* v2_file;
    const char* v2_value;
  };
  for (const Want& want : std::vector<Want>{
           {"memory.kernel", "memory.kmem.limit_in_bytes", "1048576", "", ""},
           {"memory.kernelTCP", "memory.kmem.tcp.limit_in_bytes", "2097152", "", ""},
           {"memory.swappiness", "memory.swappiness", "30", "", ""},
           {"memory.disableOOMKiller", "memory.oom_control", "1", "", ""},
           {"cpu.burst", "cpu.cfs_burst_us", "1000", "cpu.max.burst", "1000"},
           {"cpu.realtimeRuntime", "cpu.rt_runtime_us", "0", "", ""},
           {"cpu.idle", "cpu.idle", "1", "cpu.idle", "1"},
           {"blockIO.weight", "blkio.weight", "500", "io.bfq.weight", "500"},
           {"blockIO.leafWeight", "blkio.leaf_weight", "200", "", ""},
           {"blockIO.weightDevice", "blkio.weight_device", "8:0 300", "io.bfq.weight", "8:0 300"},
           {"blockIO.throttleReadBpsDevice", "blkio.throttle.read_bps_device", "8:0 1048576", "io.max", "8:0 rbps=1048576"},
           {"blockIO.throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "8:16 100", "io.max", "8:16 wiops=100"},
           {"hugepageLimits", "hugetlb.2MB.limit_in_bytes", "4194304", "hugetlb.2MB.max", "4194304"},
           {"network.classID", "net_cls.classid", "42", "", ""},
           {"network.priorities", "net_prio.ifpriomap", "eth0 5", "", ""},
           {"rdma", "rdma.max", "mlx5_0 hca_handle=3 hca_object=max", "rdma.max", "mlx5_0 hca_handle=3 hca_object=max"},
           {"unified", "", "", "", ""},
           {"unified.memory.high", nullptr, nullptr, "memory.high", "1000000"},
       }) {
    SCOPED_TRACE(want.field);
    for (int v = 1; v <= 2; ++v) {
      const char* file = v == 1 ? want.v1_file : want.v2_file;
      if (!file) continue;
      auto w = v == 1 ? cgroup_v1_writes(r) : cgroup_v2_writes(r);
      const CgroupWrite* x = find_write(w, want.field);
      if (v == 2 && std::string(want.field) == "unified") continue;  // v2 names each file
      ASSERT_NE(x, nullptr) << "v" << v;
      if (*file == 0) {
        EXPECT_FALSE(x->refused.empty()) << "v" << v;
      } else {
        EXPECT_TRUE(x->refused.empty()) << "v" << v << ": " << x->refused;
        EXPECT_EQ(x->file, file);
        EXPECT_EQ(x->value, v == 1 ? want.v1_value : want.v2_value);
      }
    }
  }
  // Where io.bfq.weight is missing, io.weight on its own scale.
  const auto v2 = cgroup_v2_writes(r);  // find_write points into it
  const CgroupWrite* weight = find_write(v2, "blockIO.weight");
  EXPECT_EQ(weight->alt_file, "io.weight");
  EXPECT_EQ(weight->alt_value, std::to_string(blkio_weight_to_io_weight(500)));
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
  // kmem is read back: kernels since 5.16 take the write and limit nothing.
  const auto v1 = cgroup_v1_writes(r);
  ASSERT_NE(find_write(v1, "memory.kernel"), nullptr);
  EXPECT_TRUE(find_write(v1, "memory.kernel")->verify);
  // -1 (no limit) asks for nothing, so nothing is refused.
  r.memory_kernel = -1;
  EXPECT_EQ(find_write(cgroup_v2_writes(r), "memory.kernel"), nullptr);  // compares the pointer only
  EXPECT_EQ(find_write(cgroup_v1_writes(r), "memory.kernel"), nullptr);
}

TEST(CgroupPath, ResolvesDefaultsAndSystemdForm) {
  EXPECT_EQ(resolve_cgroups_path("", "abc"), "/tiffin-oci/abc");
  EXPECT_EQ(resolve_cgroups_path("/a/b", "abc"), "/a/b");
  EXPECT_EQ(resolve_cgroups_path("machine.slice:libpod:abc", "x"), "/machine.slice/libpod-abc.scope");
}

TEST(Seccomp, CompilesTheDefaultProfileAndRejectsBadRules) {
  Seccomp s = default_seccomp(docker_default_capabilities());
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  auto f = SeccompFilter::compile(s);
  ASSERT_TRUE(f) << f.error().what();
  auto bpf = f->bpf();
  ASSERT_TRUE(bpf);
  EXPECT_GT(bpf->size(), 800u);
  Seccomp bad = s;
  bad.syscalls.push_back({{"read"}, "SCMP_ACT_ALLOW", {}, {{7, 0, 0, "SCMP_CMP_EQ"}}});
  EXPECT_FALSE(SeccompFilter::compile(bad));
  Seccomp notify = s;
  notify.syscalls.push_back({{"read"}, "SCMP_ACT_NOTIFY", {}, {}});
  EXPECT_EQ(SeccompFilter::compile(notify).error().kind, Errc::unsupported);
  Seccomp unknown_name = s;
  unknown_name.syscalls.push_back({{"no_such_syscall_at_all"}, "SCMP_ACT_LOG", {}, {}});
  EXPECT_TRUE(SeccompFilter::compile(unknown_name));  // skipped, as runc does
}

TEST(Seccomp, DefaultProfileGrantsCapabilitySyscallsOnlyWithTheCapability) {
  auto allowed = [](const Seccomp& s, const std::string& name) {
    for (const auto& r : s.syscalls)
      if (r.action == "SCMP_ACT_ALLOW" && std::find(r.names.begin(), r.names.end(), name) != r.names.end()) return true;
    return false;
  };
  Seccomp plain = default_seccomp(docker_default_capabilities());
  EXPECT_FALSE(allowed(plain, "mount"));
  EXPECT_FALSE(allowed(plain, "keyctl"));
  EXPECT_FALSE(allowed(plain, "ptrace"));
  EXPECT_TRUE(allowed(plain, "chroot"));  // CAP_SYS_CHROOT is among Docker's
  auto caps = docker_default_capabilities();
  caps.push_back("CAP_SYS_ADMIN");
  EXPECT_TRUE(allowed(default_seccomp(caps), "mount"));
}

TEST(Seccomp, ProgramCacheReturnsTheSameProgram) {
  test::TempDir dir;
  Seccomp s = default_seccomp(docker_default_capabilities());
  auto first = seccomp_program(s, dir.path() + "/cache");
  ASSERT_TRUE(first) << first.error().what();
  auto second = seccomp_program(s, dir.path() + "/cache");
  ASSERT_TRUE(second);
  EXPECT_EQ(first->bpf, second->bpf);
  Seccomp other = s;
  other.default_errno_ret = 38;
  auto third = seccomp_program(other, dir.path() + "/cache");
  ASSERT_TRUE(third);
  EXPECT_NE(third->bpf, first->bpf);
}

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(parse_signal("KILL").value(), SIGKILL);
  EXPECT_EQ(parse_signal("SIGTERM").value(), SIGTERM);
  EXPECT_EQ(parse_signal("sigusr1").value(), SIGUSR1);
  EXPECT_EQ(parse_signal("9").value(), 9);
  EXPECT_FALSE(parse_signal("0"));
  EXPECT_FALSE(parse_signal("99"));
  EXPECT_FALSE(parse_signal("9x"));
  EXPECT_FALSE(parse_signal("99999999999999999999"));
  EXPECT_FALSE(parse_signal("NOPE"));
  EXPECT_EQ(parse_signal("9x").error().kind, Errc::invalid_input);
}

TEST(ContainerIds, OnlySafeNames) {
  EXPECT_TRUE(check_container_id("abc-1.2_x+y"));
  EXPECT_FALSE(check_container_id(""));
  EXPECT_FALSE(check_container_id(".."));
  EXPECT_FALSE(check_container_id("a/b"));
  EXPECT_FALSE(check_container_id("a b"));
}

TEST(StateStore, SavesLoadsAndReportsMissing) {
  test::TempDir dir;
  StateStore store(dir.path());
  ASSERT_TRUE(store.make_dir("c1"));
  EXPECT_EQ(store.make_dir("c1").error().kind, Errc::conflict);
  ContainerState s;
  s.id = "c1";
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "now";
  s.pid = 999999;
  s.pid_start = 1;
  s.namespaces = {{"pid", ""}, {"network", "/run/netns/x"}};
  s.cgroup_mode = CgroupMode::hybrid;
  s.cgroup_dirs = {"/sys/fs/cgroup/memory/x"};
  ASSERT_TRUE(store.save(s));
  auto back = store.load("c1");
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->namespaces[1].path, "/run/netns/x");
  EXPECT_EQ(back->cgroup_mode, CgroupMode::hybrid);
  EXPECT_EQ(store.status(*back), Status::stopped);  // no such process
  EXPECT_EQ(store.load("nope").error().kind, Errc::not_found);
  test::write_text(dir.path() + "/c1/state.json", "{broken");
  EXPECT_EQ(store.load("c1").error().kind, Errc::corrupt);
}

}  // namespace
}  // namespace tiffin::runtime
