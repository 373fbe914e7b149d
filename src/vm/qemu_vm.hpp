// A VM under qemu/KVM that lives on after the command that started it: the host's kernel, an
// initramfs as its root, a raw disk, and user-mode networking restricted to the ports forwarded
// from the host's loopback (the guest reaches nothing outside). Its directory holds the pid file,
// the disk and the serial console's log.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace tiffin::vm {

struct VmSpec {
  std::string dir;  // qemu.pid, console.log
  std::string kernel, initrd, disk;
  std::string cmdline;
  unsigned memory_mib = 1024, cpus = 1;
  // The host's CPU, less the capability MSR that nested KVM hosts refuse to set (start_vm falls
  // back to qemu64 where even that fails).
  std::string cpu = "host,-arch-capabilities";
  bool kvm = true;                                      // else qemu's emulation (TCG)
  std::vector<std::pair<uint16_t, uint16_t>> forwards;  // 127.0.0.1:host → guest
};

// The qemu command line for `spec` (pure: unit-tested).
std::vector<std::string> qemu_argv(const VmSpec& spec);
// Starts it daemonised; unavailable when /dev/kvm cannot be opened.
Result<void> start_vm(const VmSpec& spec);
// Its qemu's pid when it runs, else 0.
pid_t vm_pid(const std::string& dir);
// SIGTERM, then SIGKILL after `timeout_ms`; no error when it is not running.
Result<void> stop_vm(const std::string& dir, int timeout_ms = 5000);

}  // namespace tiffin::vm
