// A flake's microVM, on the host: one command run in a throwaway qemu `-M microvm` guest whose
// root is a host directory (virtio-9p, read-write), with the caller's stdin, stdout, stderr,
// signals and exit code relayed over one virtio-serial port to the guest's init
// (vm/guest_init; the frames are vm/flake_vm_protocol). qemu is a child of the caller, not a
// daemon: it dies with the caller (PR_SET_PDEATHSIG) and never outlives run_flake_vm.
//
// On tiffin_base only (no libarchive), for the small static launcher; the kernel and initramfs
// it boots come from vm/flake_initramfs (tiffin_vm), made once and cached by the caller.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace tiffin::vm {

struct FlakeVmSpec {
  // The guest kernel (vm::newest_kernel()'s image, or better its uncompressed vmlinux from
  // extract_vmlinux: no decompression at boot) and the initramfs from build_flake_initramfs.
  std::string kernel, initrd;
  std::string root_dir;  // the host directory that is the guest's root (9p, read-write)
  // A private directory for qemu's socket and logs (port.sock, console.log, qemu.log), made and
  // removed by the caller.
  std::string run_dir;
  unsigned memory_mib = 256, cpus = 1;
  bool kvm = true;  // else qemu's emulation (TCG): slow, but boots where KVM cannot
  // The host's CPU less the MSR nested KVM refuses (as vm/qemu_vm); run_flake_vm retries with
  // qemu64 when qemu exits before the guest starts.
  std::string cpu = "host,-arch-capabilities";
  std::vector<std::string> argv, env;
  std::string workdir = "/";
  uint32_t uid = 0, gid = 0;
  // From qemu's start until the guest's init reports in; a guest that never does (a KVM that
  // hangs, a kernel that panics) is an Errc::unavailable error, with the console's tail.
  int boot_timeout_ms = 10000;
  std::string extra_cmdline;  // appended to flake_vm_cmdline's
  // Emulation only: the TSC's frequency for the guest (tsc_early_khz=; the emulated TSC is the
  // host's). Left to calibrate against the emulated PIT, a guest on a busy host misses, finds no
  // clock and hangs in early boot. run_flake_vm measures it when 0.
  unsigned tsc_khz = 0;
};

// Whether /dev/kvm runs guests on the processor's virtualization (VT-x, AMD-V). Some cloud VMs
// offer a /dev/kvm that is PVM, a hypervisor in software that only boots kernels built as its
// guests: a stock kernel there is interpreted instruction by instruction and dies within a
// minute (in SLUB's cmpxchg16b), so such hosts boot flakes' microVMs under emulation (TCG).
bool hardware_kvm();

// The kernel command line: quiet, the console on ttyS0, and what cuts boot time.
std::string flake_vm_cmdline(const FlakeVmSpec& spec);
// The qemu command line for `spec`, its virtio-serial port connecting to `port_socket` (pure:
// unit-tested).
std::vector<std::string> flake_vm_qemu_argv(const FlakeVmSpec& spec, const std::string& port_socket);

// Where the time of one run went, in milliseconds since run_flake_vm was called (host) or since
// the guest kernel started (guest's CLOCK_BOOTTIME), for measuring boots.
struct FlakeVmTimes {
  double qemu_spawned = 0, port_connected = 0;  // host
  // The init's timing frames as they arrived: name, the guest's clock, the host's clock.
  struct Mark {
    std::string name;
    double guest_ms = 0, host_ms = 0;
  };
  std::vector<Mark> marks;
  double exit_frame = 0, qemu_exited = 0;  // host
};

// Boots the VM, sends the run request, relays in_fd → the app's stdin (in_fd < 0: empty) and its
// stdout/stderr → out_fd/err_fd, and forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT that the
// caller receives meanwhile to the app (they are blocked and read with a signalfd for the
// duration; pending ones are consumed before the mask is restored). Returns the app's exit code
// (128 + the signal when a signal killed it). Errors of its own are errors, not exit codes:
// no /dev/kvm (Errc::unavailable), no qemu, a guest that does not start, and the init's
// error frame: Errc::program_not_found (127) or program_not_executable (126) for the app, else
// internal with the console's tail (start_failure_exit_code maps them). The caller should ignore
// SIGPIPE if out_fd or err_fd may be a pipe whose reader leaves.
Result<int> run_flake_vm(const FlakeVmSpec& spec, int in_fd, int out_fd, int err_fd, FlakeVmTimes* times = nullptr);

}  // namespace tiffin::vm
