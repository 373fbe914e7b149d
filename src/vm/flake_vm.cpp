#include "vm/flake_vm.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "common/unix_socket.hpp"
#include "vm/flake_vm_protocol.hpp"
#include "vm/guest_init.hpp"

namespace tiffin::vm {

namespace {

// Frames queued for the guest beyond this stop the reading of in_fd until the guest takes them.
constexpr size_t kMaxOutbound = 1 << 20;
constexpr int kShutdownTimeoutMs = 5000;  // from the exit frame until qemu has exited

// qemu's option syntax: a ',' in a value is written ",,".
std::string qemu_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out.push_back(c);
    if (c == ',') out.push_back(',');
  }
  return out;
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// The last `max` bytes of a log, for an error message.
std::string tail(const std::string& path, size_t max = 2000) {
  auto data = read_file(path, 64 << 20);
  if (!data || data->empty()) return {};
  size_t start = data->size() > max ? data->size() - max : 0;
  std::string s;
  for (size_t i = start; i < data->size(); ++i) {
    char c = static_cast<char>((*data)[i]);
    if (c != '\r') s.push_back(c);
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<void> write_str(int fd, std::string_view s) { return write_all(fd, {reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }

// qemu, killed and reaped when this goes out of scope however run_flake_vm leaves.
struct Qemu {
  pid_t pid = -1;
  UniqueFd pidfd;
  int status = 0;
  bool exited = false;
  Qemu() = default;
  Qemu(const Qemu&) = delete;
  ~Qemu() { kill(); }
  void kill() {
    if (pid <= 0 || exited) return;
    ::kill(pid, SIGKILL);
    reap(true);
  }
  // True once it has exited (`block`: waits for that).
  bool reap(bool block) {
    if (pid <= 0 || exited) return exited;
    int st = 0;
    pid_t r;
    do r = ::waitpid(pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == pid) {
      exited = true;
      status = st;
    }
    return exited;
  }
};

// SIGINT, SIGTERM, SIGHUP and SIGQUIT read from a signalfd for as long as this lives; the mask is
// restored only after any of them still pending is consumed, so none kills the caller later.
class ForwardedSignals {
 public:
  ForwardedSignals() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set_, s);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
    fd_ = UniqueFd(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~ForwardedSignals() {
    while (next() > 0) {
    }
    ::sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  int fd() const { return fd_.get(); }
  const sigset_t& old_mask() const { return old_; }
  // The next one received, 0 when none is.
  int next() {
    signalfd_siginfo si{};
    if (!fd_ || ::read(fd_.get(), &si, sizeof si) != static_cast<ssize_t>(sizeof si)) return 0;
    return static_cast<int>(si.ssi_signo);
  }

 private:
  sigset_t set_{}, old_{};
  UniqueFd fd_;
};

// qemu's stdout and stderr go to qemu.log; it is in a session of its own (a terminal's ^C is for
// the app, which gets it as a frame, not for qemu) and dies with the caller. It sees the guest's
// root through a nodev,nosuid bind in a mount namespace of its own: qemu runs as root and makes
// what the (untrusted) guest asks for on the host, device nodes included; through this mount
// neither it nor anyone may open one, nor gain privileges from a setuid file the guest made.
Result<void> start_qemu(
    Qemu& q, const std::vector<std::string>& argv, const std::string& log, const sigset_t& mask, const std::string& root) {
  UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out) return fail_errno(log);
  pid_t parent = ::getpid();
  q.pid = TRY_CTX(spawn(argv,
                      [&] {
                        ::setsid();
                        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) return false;
                        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                            ::mount(root.c_str(), root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
                            ::mount(nullptr, root.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_NODEV | MS_NOSUID, nullptr) != 0)
                          return false;
                        ::sigprocmask(SIG_SETMASK, &mask, nullptr);
                        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
                        return null >= 0 && ::dup2(null, 0) == 0 && ::dup2(out.get(), 1) == 1 && ::dup2(out.get(), 2) == 2;
                      }),
      "qemu-system-x86_64 (apt-get install qemu-system-x86)");
  q.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, q.pid, 0)));
  if (!q.pidfd) return fail_errno("pidfd_open");
  return {};
}

struct Run {
  const FlakeVmSpec& spec;
  int in_fd, out_fd, err_fd;
  FlakeVmTimes* times;
  Clock::time_point t0 = Clock::now();
  std::string sock = spec.run_dir + "/port.sock", console = spec.run_dir + "/console.log", qemu_log = spec.run_dir + "/qemu.log";

  std::string logs() const {
    std::string out;
    if (std::string t = tail(qemu_log, 1000); !t.empty()) out += "\nqemu: " + t;
    if (std::string t = tail(console); !t.empty()) out += "\nconsole:\n" + t;
    return out;
  }

  // One boot with `cpu`. nullopt when qemu exited before the guest said anything (the caller
  // may try another CPU model); in_fd is not read until the guest has, so nothing is lost then.
  Result<std::optional<int>> boot(const std::string& cpu, ForwardedSignals& signals) {
    FlakeVmSpec s = spec;
    s.cpu = cpu;
    UniqueFd listener = TRY(listen_unix(sock, true));
    Qemu q;
    TRY(start_qemu(q, flake_vm_qemu_argv(s, sock), qemu_log, signals.old_mask(), s.root_dir));
    if (times) times->qemu_spawned = ms_since(t0);
    auto deadline = Clock::now() + std::chrono::milliseconds(spec.boot_timeout_ms);
    auto remaining = [&] {
      return static_cast<int>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
    };

    // qemu connects to the port's socket as it starts, before the guest runs.
    UniqueFd conn;
    while (!conn) {
      pollfd fds[2] = {{listener.get(), POLLIN, 0}, {q.pidfd.get(), POLLIN, 0}};
      int n = ::poll(fds, 2, remaining());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno("poll");
      if (fds[1].revents) {
        q.reap(true);
        return std::nullopt;
      }
      if (n == 0) return fail(Errc::unavailable, "qemu did not connect to " + sock + logs());
      conn = UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!conn && errno != EAGAIN && errno != EINTR) return fail_errno("accept " + sock);
    }
    listener.reset();
    ::unlink(sock.c_str());
    if (times) times->port_connected = ms_since(t0);

    FlakeRequest req{spec.argv, spec.env, spec.workdir, spec.uid, spec.gid, false};
    std::string outq = encode_frame(FrameType::run, encode_request(req));
    FrameReader reader;
    bool guest_started = false, stdin_done = in_fd < 0, exited = false;
    if (stdin_done) outq += encode_frame(FrameType::stdin_eof, {});
    int out = out_fd, err = err_fd;
    std::optional<FlakeExit> exit;
    std::optional<FlakeError> guest_error;
    Clock::time_point shutdown_deadline{};

    while (!exited) {
      bool want_stdin = guest_started && !stdin_done && outq.size() < kMaxOutbound && !exit && !guest_error;
      pollfd fds[4] = {
          {conn.get(), static_cast<short>(POLLIN | (outq.empty() ? 0 : POLLOUT)), 0},
          {want_stdin ? in_fd : -1, POLLIN, 0},
          {signals.fd(), POLLIN, 0},
          {q.pidfd.get(), POLLIN, 0},
      };
      int timeout = -1;
      if (!guest_started) timeout = remaining();
      if (exit || guest_error)
        timeout = static_cast<int>(
            std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(shutdown_deadline - Clock::now()).count()));
      int n = ::poll(fds, 4, timeout);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno("poll");
      if (n == 0) {
        if (!guest_started)
          return fail(Errc::unavailable, "the VM did not start within " + std::to_string(spec.boot_timeout_ms) + " ms" +
                                             (spec.kvm ? " (KVM nested under another hypervisor can hang: try without KVM)" : "") + logs());
        break;  // the guest sent its exit and did not power off in time: qemu is killed below
      }
      if (fds[0].revents & POLLOUT) {
        ssize_t w = ::send(conn.get(), outq.data(), outq.size(), MSG_NOSIGNAL);
        if (w > 0) outq.erase(0, static_cast<size_t>(w));
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[65536];
        ssize_t r = ::read(conn.get(), buf, sizeof buf);
        if (r > 0) {
          reader.feed(std::string_view(buf, static_cast<size_t>(r)));
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          conn.reset();  // qemu is going away; its exit is seen below
          outq.clear();
        }
        for (;;) {
          auto f = reader.next();
          if (!f) return std::unexpected(std::move(f).error().context("the VM's port"));
          if (!*f) break;
          Frame& frame = **f;
          guest_started = true;
          switch (frame.type) {
            case FrameType::stdout_data:
              if (out >= 0 && !write_str(out, frame.payload)) out = -1;  // its reader left: the rest is dropped
              break;
            case FrameType::stderr_data:
              if (err >= 0 && !write_str(err, frame.payload)) err = -1;
              break;
            case FrameType::timing: {
              FlakeTiming t = TRY_CTX(decode_timing(frame.payload), "the VM's port");
              if (times) times->marks.push_back({t.name, double(t.boottime_ns) / 1e6, ms_since(t0)});
              break;
            }
            case FrameType::exit:
              exit = TRY_CTX(decode_exit(frame.payload), "the VM's port");
              if (times) times->exit_frame = ms_since(t0);
              shutdown_deadline = Clock::now() + std::chrono::milliseconds(kShutdownTimeoutMs);
              break;
            case FrameType::error:
              guest_error = TRY_CTX(decode_error_frame(frame.payload), "the VM's port");
              shutdown_deadline = Clock::now() + std::chrono::milliseconds(kShutdownTimeoutMs);
              break;
            default: return fail(Errc::corrupt, "the VM's port: frame type " + std::to_string(int(frame.type)) + " from the guest");
          }
          if (exit || guest_error) break;
        }
      }
      if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[kMaxDataChunk];
        ssize_t r = ::read(in_fd, buf, sizeof buf);
        if (r > 0) {
          outq += encode_frame(FrameType::stdin_data, std::string_view(buf, static_cast<size_t>(r)));
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          stdin_done = true;
          outq += encode_frame(FrameType::stdin_eof, {});
        }
      }
      if (fds[2].revents & POLLIN)
        while (int sig = signals.next()) outq += encode_frame(FrameType::signal, encode_signal(sig));
      if (fds[3].revents & POLLIN) exited = q.reap(true);
    }
    if (!exited) q.kill();  // an exit frame and no power-off within the time: enough
    if (times) times->qemu_exited = ms_since(t0);
    if (guest_error) {
      Error e = to_error(*guest_error);
      if (e.kind == Errc::internal) e.message = "the VM's init: " + e.message + logs();
      return std::unexpected(std::move(e));
    }
    if (exit) return exit->exit_code();
    if (!guest_started) return std::nullopt;
    int code = WIFEXITED(q.status) ? WEXITSTATUS(q.status) : 128 + WTERMSIG(q.status);
    return fail(Errc::internal, "qemu exited (" + std::to_string(code) + ") before the app's exit" + logs());
  }
};

// The TSC's ticks over 20 ms of the monotonic clock.
unsigned host_tsc_khz() {
  auto t0 = Clock::now();
  uint64_t c0 = __rdtsc();
  while (Clock::now() - t0 < std::chrono::milliseconds(20)) {
  }
  uint64_t c1 = __rdtsc();
  double ms = ms_since(t0);
  return static_cast<unsigned>(double(c1 - c0) / ms);
}

}  // namespace

bool hardware_kvm() { return ::access("/sys/module/kvm_intel", F_OK) == 0 || ::access("/sys/module/kvm_amd", F_OK) == 0; }

std::string flake_vm_cmdline(const FlakeVmSpec& spec) {
  // quiet: every console line is a trap to qemu's serial emulation. panic=-1: a guest that panics
  // resets, which -no-reboot turns into qemu's exit instead of a hang. The i8042 and 8250 options
  // stop the kernel from probing legacy devices microvm does not have.
  std::string c = "console=ttyS0 quiet panic=-1 rdinit=/init i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd 8250.nr_uarts=1";
  if (!spec.kvm && spec.tsc_khz) c += " tsc_early_khz=" + std::to_string(spec.tsc_khz);
  if (!spec.extra_cmdline.empty()) c += " " + spec.extra_cmdline;
  return c;
}

std::vector<std::string> flake_vm_qemu_argv(const FlakeVmSpec& s, const std::string& port_socket) {
  return {"qemu-system-x86_64", "-M",
      // microvm: no PCI, no firmware option ROMs, no legacy PIC/PIT (KVM's in-kernel LAPIC timer
      // and kvmclock do instead); virtio-mmio devices are found through ACPI (the Debian kernel
      // has no virtio_mmio.device= command-line support), and ACPI is also how it powers off.
      s.kvm ? "microvm,x-option-roms=off,pit=off,pic=off,rtc=on,isa-serial=on,acpi=on"
            : "microvm,x-option-roms=off,rtc=on,isa-serial=on,acpi=on",
      "-accel", s.kvm ? "kvm" : "tcg", "-cpu", s.kvm ? s.cpu : "max", "-m", std::to_string(s.memory_mib), "-smp", std::to_string(s.cpus),
      "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-no-reboot", "-kernel", s.kernel, "-initrd", s.initrd,
      "-append", flake_vm_cmdline(s), "-serial", "file:" + s.run_dir + "/console.log", "-chardev",
      "socket,id=flake,path=" + qemu_escape(port_socket), "-device",
      // port 0 is reserved for a console, so ours is 1
      "virtio-serial-device,max_ports=2", "-device", "virtserialport,chardev=flake,name=" + std::string(kFlakePortName), "-fsdev",
      "local,id=root,path=" + qemu_escape(s.root_dir) + ",security_model=passthrough,multidevs=remap", "-device",
      "virtio-9p-device,fsdev=root,mount_tag=" + std::string(kRootMountTag)};
}

Result<int> run_flake_vm(const FlakeVmSpec& spec, int in_fd, int out_fd, int err_fd, FlakeVmTimes* times) {
  if (spec.argv.empty()) return fail(Errc::invalid_input, "a flake VM needs a command");
  if (spec.kvm) {
    UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (!kvm) {
      int e = errno;
      return std::unexpected(Error{Errc::unavailable, e, "/dev/kvm: " + std::string(std::strerror(e)) + " (a flake VM needs KVM)"});
    }
  }
  for (const auto& [path, what] :
      {std::pair{spec.kernel, "kernel"}, std::pair{spec.initrd, "initramfs"}, std::pair{spec.root_dir, "root directory"}})
    if (::access(path.c_str(), R_OK) != 0) return fail_errno(std::string("flake VM ") + what + " " + path);
  FlakeVmSpec s = spec;
  if (!s.kvm && !s.tsc_khz) s.tsc_khz = host_tsc_khz();
  ForwardedSignals signals;
  Run run{s, in_fd, out_fd, err_fd, times};
  auto code = TRY(run.boot(spec.cpu, signals));
  if (!code && spec.kvm && spec.cpu != "qemu64") code = TRY(run.boot("qemu64", signals));
  if (!code) return fail(Errc::internal, "qemu exited before the VM started" + run.logs());
  return *code;
}

}  // namespace tiffin::vm
