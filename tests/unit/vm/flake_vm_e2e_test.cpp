// Boots real flake microVMs: the host's kernel (its vmlinux, extracted once), an initramfs with
// the built tiffin-vminit, and a root of busybox. Needs root, qemu and /dev/kvm; where KVM
// cannot boot a guest (nested under another hypervisor, it hangs) it falls back to qemu's
// emulation, slower but the same code paths. TIFFIN_FLAKE_VM_ACCEL=kvm|tcg skips the probe.
// TIFFIN_FLAKE_VM_CMDLINE is added to the guest's kernel command line. Filter with
// --gtest_filter='FlakeVmE2E.*'.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "test_support.hpp"
#include "vm/flake_initramfs.hpp"
#include "vm/flake_vm.hpp"
#include "vm/host_parts.hpp"
#include "vm/vmlinux.hpp"

namespace tiffin::vm {
namespace {

struct Output {
  UniqueFd fd{::memfd_create("out", MFD_CLOEXEC)};
  std::string text() const {
    std::string s;
    char buf[4096];
    for (off_t at = 0;;) {
      ssize_t n = ::pread(fd.get(), buf, sizeof buf, at);
      if (n <= 0) return s;
      s.append(buf, static_cast<size_t>(n));
      at += n;
    }
  }
};

// A pipe holding `data`, closed: the app's stdin.
UniqueFd input(const std::string& data) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {};
  (void)!::write(p[1], data.data(), data.size());
  ::close(p[1]);
  return UniqueFd(p[0]);
}

class FlakeVmE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return skip("not root");
#ifdef TIFFIN_SANITIZED
    return skip("a sanitizer build's tiffin-vminit is dynamic and the guest has no libraries");
#endif
    if (::access("/dev/kvm", R_OK | W_OK) != 0) return skip("no /dev/kvm");
    if (std::system("command -v qemu-system-x86_64 >/dev/null") != 0) return skip("no qemu-system-x86_64");
    if (::access("/bin/busybox", X_OK) != 0) return skip("no /bin/busybox (busybox-static)");
    auto kernel = newest_kernel();
    if (!kernel) return skip(kernel.error().message);
    dir_ = new test::TempDir();
    std::string vmlinux = *dir_ / "vmlinux", initrd = *dir_ / "initrd";
    // The boot-time levers (DISABLED_BootTime measures them): the bzImage as it is, a gzip'ed
    // initramfs, the guest's memory.
    bool bzimage = std::getenv("TIFFIN_FLAKE_VM_BZIMAGE") != nullptr, gzip = std::getenv("TIFFIN_FLAKE_VM_GZIP") != nullptr;
    if (bzimage) vmlinux = kernel->image;
    auto k = bzimage ? Result<void>() : extract_vmlinux(kernel->image, vmlinux);
    ASSERT_TRUE(k) << k.error().message;
    auto ir = build_flake_initramfs({initrd, TIFFIN_VMINIT, kernel->version, gzip});
    ASSERT_TRUE(ir) << ir.error().message;
    std::string root = *dir_ / "root";
    std::filesystem::create_directories(root + "/bin");
    std::filesystem::create_directories(root + "/tmp");
    std::filesystem::copy_file("/bin/busybox", root + "/bin/busybox");
    for (const char* applet : {"sh", "echo", "cat", "sleep", "true", "kill"})
      std::filesystem::create_symlink("busybox", root + "/bin/" + applet);
    base_.kernel = vmlinux;
    base_.initrd = initrd;
    base_.root_dir = root;
    base_.memory_mib = 256;
    if (const char* mem = std::getenv("TIFFIN_FLAKE_VM_MEMORY")) base_.memory_mib = parse_uint<unsigned>(mem).value_or(256);
    base_.env = {"PATH=/bin"};
    if (const char* extra = std::getenv("TIFFIN_FLAKE_VM_CMDLINE")) base_.extra_cmdline = extra;  // e.g. loglevel=7 to debug
    const char* accel = std::getenv("TIFFIN_FLAKE_VM_ACCEL");
    if (accel && std::string(accel) == "tcg") base_.kvm = false;
    if (!accel && !hardware_kvm()) {
      std::fprintf(stderr, "FlakeVmE2E: /dev/kvm is not VT-x/AMD-V here (PVM?); using qemu's emulation (TCG)\n");
      base_.kvm = false;
    }
    if (!base_.kvm) base_.boot_timeout_ms = 60000;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static void skip(const std::string& why) { skip_ = "flake VM tests need root, /dev/kvm, qemu and busybox: " + why; }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }
  // A spec with its own run directory (removed with `run_`).
  static FlakeVmSpec spec(std::vector<std::string> argv) {
    static int n = 0;
    FlakeVmSpec s = base_;
    s.argv = std::move(argv);
    s.run_dir = *dir_ / ("run" + std::to_string(n++));
    std::filesystem::create_directories(s.run_dir);
    return s;
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline FlakeVmSpec base_;
  static inline std::string skip_;
};

TEST_F(FlakeVmE2E, RelaysStdioAndTheExitCode) {
  Output out, err;
  UniqueFd in = input("hello\n");
  FlakeVmTimes times;
  auto r = run_flake_vm(
      spec({"sh", "-c", "echo out; echo err >&2; read x; echo got:$x; exit 42"}), in.get(), out.fd.get(), err.fd.get(), &times);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(out.text(), "out\ngot:hello\n");
  EXPECT_EQ(err.text(), "err\n");
  for (const auto& m : times.marks) std::fprintf(stderr, "  %-8s guest %7.1f ms  host %7.1f ms\n", m.name.c_str(), m.guest_ms, m.host_ms);
  std::fprintf(stderr, "  exit frame %.1f ms, qemu exited %.1f ms\n", times.exit_frame, times.qemu_exited);
}

TEST_F(FlakeVmE2E, WritesReachTheHostRootAsTheRequestedUser) {
  FlakeVmSpec s = spec({"sh", "-c", "echo made > /tmp/by-guest; cd /tmp && echo $(pwd)"});
  s.workdir = "/tmp";
  Output out;
  auto r = run_flake_vm(s, -1, out.fd.get(), -1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(out.text(), "/tmp\n");
  EXPECT_EQ(test::slurp(s.root_dir + "/tmp/by-guest"), "made\n");
}

TEST_F(FlakeVmE2E, AMissingAppIs127) {
  auto r = run_flake_vm(spec({"no-such-app"}), -1, -1, -1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::program_not_found);
  EXPECT_EQ(start_failure_exit_code(r.error()), 127);
  EXPECT_NE(r.error().message.find("no-such-app"), std::string::npos);
  auto x = run_flake_vm(spec({"/tmp"}), -1, -1, -1);
  ASSERT_FALSE(x);
  EXPECT_EQ(start_failure_exit_code(x.error()), 126) << x.error().message;
}

TEST_F(FlakeVmE2E, ForwardsTheCallersSigint) {
  Output out;
  bool stop = false;
  // The signal is sent to the process, as a terminal's ^C is: every other thread blocks it, so
  // run_flake_vm's signalfd takes it.
  std::thread sender([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    for (int i = 0; i < 1200 && !stop; ++i) {
      if (out.text().find("ready") != std::string::npos) {
        ::kill(::getpid(), SIGINT);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  auto r =
      run_flake_vm(spec({"sh", "-c", "trap 'echo caught; exit 3' INT; echo ready; while :; do sleep 0.1; done"}), -1, out.fd.get(), -1);
  stop = true;
  sender.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 3);
  EXPECT_EQ(out.text(), "ready\ncaught\n");
}

// The wall time of `busybox true` and where it goes, the median of TIFFIN_FLAKE_VM_RUNS (10)
// boots: --gtest_also_run_disabled_tests --gtest_filter=FlakeVmE2E.DISABLED_BootTime.
TEST_F(FlakeVmE2E, DISABLED_BootTime) {
  unsigned runs = 10;
  if (const char* n = std::getenv("TIFFIN_FLAKE_VM_RUNS")) runs = parse_uint<unsigned>(n).value_or(10);
  std::map<std::string, std::vector<double>> phases;
  for (unsigned i = 0; i < runs; ++i) {
    FlakeVmTimes t;
    auto start = std::chrono::steady_clock::now();
    auto r = run_flake_vm(spec({"/bin/busybox", "true"}), -1, -1, -1, &t);
    double total = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(*r, 0);
    phases["0 total"].push_back(total);
    phases["1 qemu spawned"].push_back(t.qemu_spawned);
    phases["2 port connected"].push_back(t.port_connected);
    for (const auto& m : t.marks) {
      phases["3 guest " + m.name + " (guest clock)"].push_back(m.guest_ms);
      phases["4 host sees " + m.name].push_back(m.host_ms);
    }
    phases["5 exit frame"].push_back(t.exit_frame);
    phases["6 qemu exited"].push_back(t.qemu_exited);
  }
  std::fprintf(stderr, "median of %u runs (%s, %u MiB), ms:\n", runs, base_.kvm ? "KVM" : "TCG", base_.memory_mib);
  for (auto& [name, v] : phases) {
    std::sort(v.begin(), v.end());
    std::fprintf(stderr, "  %-34s %8.1f\n", name.c_str(), v[v.size() / 2]);
  }
}

}  // namespace
}  // namespace tiffin::vm
