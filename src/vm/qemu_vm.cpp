#include "vm/qemu_vm.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"

namespace tiffin::vm {

std::vector<std::string> qemu_argv(const VmSpec& s) {
  std::string net = "user,id=n0,restrict=on";
  for (const auto& [host, guest] : s.forwards) net += ",hostfwd=tcp:127.0.0.1:" + std::to_string(host) + "-:" + std::to_string(guest);
  return {"qemu-system-x86_64", "-accel", s.kvm ? "kvm" : "tcg", "-cpu", s.kvm ? s.cpu : "max", "-machine", "q35", "-m",
      std::to_string(s.memory_mib), "-smp", std::to_string(s.cpus), "-kernel", s.kernel, "-initrd", s.initrd, "-append", s.cmdline,
      "-drive", "file=" + s.disk + ",if=virtio,format=raw,cache=none,aio=threads", "-netdev", net, "-device", "virtio-net-pci,netdev=n0",
      "-display", "none", "-serial", "file:" + s.dir + "/console.log", "-monitor", "none", "-nodefaults", "-no-user-config", "-no-reboot",
      "-pidfile", s.dir + "/qemu.pid", "-daemonize"};
}

Result<void> start_vm(const VmSpec& spec) {
  if (UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC)); spec.kvm && !kvm) return fail_errno("/dev/kvm (KVM is needed; or --accel tcg)");
  if (vm_pid(spec.dir)) return fail(Errc::conflict, "the VM in " + spec.dir + " runs already");
  Captured run = TRY_CTX(run_captured(qemu_argv(spec), true), "qemu-system-x86_64 (apt-get install qemu-system-x86)");
  if (run.exit_code != 0 && spec.kvm && spec.cpu != "qemu64") {
    VmSpec plain = spec;
    plain.cpu = "qemu64";
    run = TRY_CTX(run_captured(qemu_argv(plain), true), "qemu-system-x86_64");
  }
  if (run.exit_code != 0) return fail(Errc::internal, "qemu exited with " + std::to_string(run.exit_code) + ": " + run.out);
  return {};
}

pid_t vm_pid(const std::string& dir) {
  auto text = read_file(dir + "/qemu.pid", 64);
  if (!text) return 0;
  std::string s(text->begin(), text->end());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  auto pid = parse_int<pid_t>(s);
  if (!pid || *pid <= 0 || ::kill(*pid, 0) != 0) return 0;
  // A pid reused by another program is not the VM.
  auto cmd = read_file("/proc/" + s + "/cmdline", 1 << 16);
  if (!cmd || std::string(cmd->begin(), cmd->end()).find(dir + "/qemu.pid") == std::string::npos) return 0;
  return *pid;
}

Result<void> stop_vm(const std::string& dir, int timeout_ms) {
  pid_t pid = vm_pid(dir);
  if (!pid) return {};
  ::kill(pid, SIGTERM);
  for (int waited = 0; waited < timeout_ms && ::kill(pid, 0) == 0; waited += 20) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::unlink((dir + "/qemu.pid").c_str());
  return {};
}

}  // namespace tiffin::vm
