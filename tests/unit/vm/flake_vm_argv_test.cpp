#include <gtest/gtest.h>

#include <algorithm>

#include "vm/flake_vm.hpp"

namespace tiffin::vm {
namespace {

std::string after(const std::vector<std::string>& argv, const std::string& flag, int nth = 0) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag && nth-- == 0) return argv[i + 1];
  return "<none>";
}

TEST(FlakeVmArgv, MicrovmWithThePortAndTheRoot) {
  FlakeVmSpec s;
  s.kernel = "/k/vmlinux";
  s.initrd = "/k/initrd";
  s.root_dir = "/var/lib/x,y/rootfs";
  s.run_dir = "/run/f";
  s.memory_mib = 128;
  auto argv = flake_vm_qemu_argv(s, "/run/f/port.sock");
  EXPECT_EQ(argv[0], "qemu-system-x86_64");
  EXPECT_TRUE(after(argv, "-M").starts_with("microvm,"));
  EXPECT_NE(after(argv, "-M").find("pit=off"), std::string::npos);
  EXPECT_EQ(after(argv, "-accel"), "kvm");
  EXPECT_EQ(after(argv, "-cpu"), "host,-arch-capabilities");
  EXPECT_EQ(after(argv, "-m"), "128");
  EXPECT_EQ(after(argv, "-kernel"), "/k/vmlinux");
  EXPECT_EQ(after(argv, "-initrd"), "/k/initrd");
  EXPECT_EQ(after(argv, "-serial"), "file:/run/f/console.log");
  EXPECT_EQ(after(argv, "-chardev"), "socket,id=flake,path=/run/f/port.sock");
  EXPECT_EQ(after(argv, "-device", 1), "virtserialport,chardev=flake,name=tiffin.flake");
  // qemu's option syntax doubles a ',' in a path.
  EXPECT_EQ(after(argv, "-fsdev"), "local,id=root,path=/var/lib/x,,y/rootfs,security_model=passthrough,multidevs=remap");
  EXPECT_EQ(after(argv, "-device", 2), "virtio-9p-device,fsdev=root,mount_tag=tiffin.root");
  for (const char* flag : {"-nodefaults", "-no-user-config", "-no-reboot"})
    EXPECT_NE(std::find(argv.begin(), argv.end(), flag), argv.end()) << flag;
  // Not a daemon: run_flake_vm waits for it.
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "-daemonize"), argv.end());
}

TEST(FlakeVmArgv, EmulationKeepsTheLegacyTimers) {
  FlakeVmSpec s;
  s.kvm = false;
  auto argv = flake_vm_qemu_argv(s, "/s");
  EXPECT_EQ(after(argv, "-accel"), "tcg");
  EXPECT_EQ(after(argv, "-cpu"), "max");
  EXPECT_EQ(after(argv, "-M").find("pit=off"), std::string::npos);
  s.tsc_khz = 2596144;
  EXPECT_NE(flake_vm_cmdline(s).find(" tsc_early_khz=2596144"), std::string::npos);
  s.kvm = true;  // kvmclock instead
  EXPECT_EQ(flake_vm_cmdline(s).find("tsc_early_khz"), std::string::npos);
}

TEST(FlakeVmArgv, CmdlineIsQuietWithExtras) {
  FlakeVmSpec s;
  s.extra_cmdline = "mitigations=off";
  std::string c = flake_vm_cmdline(s);
  EXPECT_NE(c.find("console=ttyS0"), std::string::npos);
  EXPECT_NE(c.find("quiet"), std::string::npos);
  EXPECT_NE(c.find("rdinit=/init"), std::string::npos);
  EXPECT_TRUE(c.ends_with(" mitigations=off"));
}

}  // namespace
}  // namespace tiffin::vm
