#include "vm/guest_init.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "vm/flake_vm_protocol.hpp"

namespace tiffin::vm {

namespace {

// The app's stdin is buffered here while it does not read; past this the port is not read
// either (the host then holds the rest), so a chatty host cannot exhaust the guest's memory.
constexpr size_t kMaxStdinBuffer = 1 << 20;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

int g_port = -1;

uint64_t boottime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

void console(const std::string& msg) {
  std::string line = "tiffin-vminit: " + msg + "\n";
  (void)write_all(2, {reinterpret_cast<const uint8_t*>(line.data()), line.size()});
}

Result<void> send(FrameType type, std::string_view payload) {
  std::string f = encode_frame(type, payload);
  return write_all(g_port, {reinterpret_cast<const uint8_t*>(f.data()), f.size()});
}

void timing(const char* name, uint64_t ns = 0) {
  if (g_port >= 0) (void)send(FrameType::timing, encode_timing({name, ns ? ns : boottime_ns()}));
}

[[noreturn]] void power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  ::_exit(1);  // a panic (PID 1 exited): the kernel's panic=-1 resets, and qemu's -no-reboot exits
}

[[noreturn]] void die(int exit_code, const std::string& msg) {
  console(msg);
  if (g_port >= 0) (void)send(FrameType::error, encode_error_frame({exit_code, msg}));
  power_off();
}

Result<void> mount_fs(const char* source, const std::string& target, const char* type, unsigned long flags, const char* data = nullptr) {
  if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("mkdir " + target);
  if (::mount(source, target.c_str(), type, flags, data) != 0) return fail_errno("mount " + std::string(type) + " on " + target);
  return {};
}

Result<void> load_modules() {
  auto list = read_file(kGuestModuleList, 1 << 20);
  if (!list) return {};  // a kernel with everything built in needs none
  for (const auto& path : split(std::string(list->begin(), list->end()), '\n')) {
    if (path.empty()) continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("module " + path);
    if (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST) return fail_errno("loading module " + path);
  }
  return {};
}

// virtio_console announces ports from a work queue after the driver binds, so the port may
// appear a little after the module is loaded: look for it for up to 5 s.
Result<UniqueFd> open_port() {
  for (int tries = 0; tries < 5000; ++tries) {
    if (DIR* d = ::opendir("/sys/class/virtio-ports")) {
      std::string found;
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        auto name =
            read_file(std::string("/sys/class/virtio-ports/") + e->d_name + "/name", 4096);  // sysfs says 4096 bytes, whatever it holds
        std::string n = name ? std::string(name->begin(), name->end()) : "";
        while (!n.empty() && n.back() == '\n') n.pop_back();
        if (n == kFlakePortName) found = e->d_name;
      }
      ::closedir(d);
      if (!found.empty()) {
        // devtmpfs makes the node when the port's device is registered, which is just before.
        for (int i = 0; i < 1000; ++i) {
          UniqueFd fd(::open(("/dev/" + found).c_str(), O_RDWR | O_CLOEXEC));
          if (fd) return fd;
          if (errno != ENOENT) return fail_errno("/dev/" + found);
          ::usleep(1000);
        }
        return fail(Errc::not_found, "/dev/" + found + " did not appear");
      }
    }
    ::usleep(1000);
  }
  return fail(Errc::not_found, "no virtio-serial port named " + std::string(kFlakePortName));
}

// The new root as a container sees it: the host's directory over 9p, and the kernel's file
// systems inside it.
Result<void> mount_root() {
  // cache=loose: the guest keeps pages, dentries and attributes of the root instead of asking
  // the host for every stat, open and read (an exec of a dynamic binary is hundreds of those;
  // uncached, each is a round trip through qemu). It gives up coherence with changes made on the
  // host side while the app runs, which a flake's root does not have: it is this VM's own
  // writable layer. msize: large messages so a read or write of a big file takes few trips
  // (the virtio transport caps it at ~512 KiB; qemu allows more).
  TRY(mount_fs(kRootMountTag, kGuestRootMount, "9p", 0, "trans=virtio,version=9p2000.L,msize=262144,cache=loose,access=client"));
  std::string r = kGuestRootMount;
  TRY(mount_fs("proc", r + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC));
  TRY(mount_fs("sysfs", r + "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
  TRY(mount_fs("devtmpfs", r + "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC));
  TRY(mount_fs("devpts", r + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"));
  TRY(mount_fs("shm", r + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"));
  return {};
}

Result<FlakeRequest> read_request(FrameReader& reader) {
  for (;;) {
    if (auto f = TRY(reader.next())) {
      if (f->type != FrameType::run) return fail(Errc::corrupt, "the first frame is not a run request");
      return decode_request(f->payload);
    }
    uint8_t buf[65536];
    ssize_t n = ::read(g_port, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading the port");
    if (n == 0) {
      ::usleep(1000);  // no host on the port yet
      continue;
    }
    reader.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  }
}

std::string env_value(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=') return e.substr(key.size() + 1);
  return {};
}

// argv[0] as execve needs it: itself when it has a '/', else the first match in PATH.
Result<std::string> resolve_program(const FlakeRequest& req) {
  const std::string& name = req.argv[0];
  if (name.find('/') != std::string::npos) return name;
  std::string path = env_value(req.env, "PATH");
  for (const auto& dir : split(path.empty() ? kDefaultPath : path, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return candidate;
  }
  return fail(Errc::program_not_found, name + ": not found in PATH");
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct App {
  pid_t pid = -1;
  UniqueFd in, out, err, pidfd;
};

// Forks the app as the request says; its exec's failure comes back over a close-on-exec pipe.
Result<App> start_app(const FlakeRequest& req) {
  std::string program = TRY(resolve_program(req));
  int in[2], out[2], err[2], status[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(status, O_CLOEXEC) != 0)
    return fail_errno("pipe");
  std::vector<char*> argv, envp;
  for (const auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : req.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    auto fail_child = [&](const char* step) {
      int e = errno;
      std::string msg = std::to_string(e) + ":" + step;
      (void)!::write(status[1], msg.data(), msg.size());
      ::_exit(127);
    };
    ::setsid();                  // its own process group, so a terminal's signals can go to all of it
    ::signal(SIGPIPE, SIG_DFL);  // ignored by the init; an ignored disposition survives exec
    if (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) fail_child("dup2");
    if (::setgroups(0, nullptr) != 0 || ::setgid(req.gid) != 0 || ::setuid(req.uid) != 0) fail_child("setuid");
    if (::chdir(req.workdir.c_str()) != 0) fail_child("chdir");
    ::execve(program.c_str(), argv.data(), envp.data());
    fail_child("exec");
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(status[1]);
  App app{pid, UniqueFd(in[1]), UniqueFd(out[0]), UniqueFd(err[0]), UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)))};
  UniqueFd status_r(status[0]);
  char buf[256];
  ssize_t n;
  do n = ::read(status_r.get(), buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    std::string msg(buf, static_cast<size_t>(n));
    size_t colon = msg.find(':');
    int e = parse_int<int>(msg.substr(0, colon)).value_or(EIO);
    std::string step = colon == std::string::npos ? "" : msg.substr(colon + 1);
    if (step == "exec") {
      Errc kind = e == ENOENT ? Errc::program_not_found : Errc::program_not_executable;
      return std::unexpected(Error{kind, e, program + ": " + std::strerror(e)});
    }
    if (step == "chdir") return std::unexpected(Error{Errc::not_found, e, "working directory " + req.workdir + ": " + std::strerror(e)});
    return std::unexpected(Error{Errc::io, e, step + ": " + std::strerror(e)});
  }
  if (!app.pidfd) return fail_errno("pidfd_open");
  set_nonblocking(app.in.get());
  set_nonblocking(app.out.get());
  set_nonblocking(app.err.get());
  return app;
}

// Sends what `fd` has now as frames of `type`; false at its end.
Result<bool> pump_output(int fd, FrameType type) {
  char buf[kMaxDataChunk];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) return false;
    TRY(send(type, std::string_view(buf, static_cast<size_t>(n))));
    if (static_cast<size_t>(n) < sizeof buf) return true;
  }
}

void deliver(pid_t pid, int sig) {
  // Those a terminal sends go to the app's whole process group, as a terminal would send them;
  // others (SIGTERM, SIGKILL…) to the app alone, as `docker kill` does.
  bool group = sig == SIGINT || sig == SIGQUIT || sig == SIGHUP;
  if (!group || ::kill(-pid, sig) != 0) ::kill(pid, sig);
}

// Relays until the app exits, then drains what it left in its pipes.
Result<FlakeExit> relay(App& app, FrameReader& reader) {
  std::string stdin_buf;
  bool stdin_eof = false;
  for (;;) {
    // Frames the reader already holds (the request's neighbours) first.
    while (auto f = TRY(reader.next())) {
      switch (f->type) {
        case FrameType::stdin_data:
          if (app.in) stdin_buf += f->payload;
          break;
        case FrameType::stdin_eof: stdin_eof = true; break;
        case FrameType::signal: deliver(app.pid, TRY(decode_signal(f->payload))); break;
        default: return fail(Errc::corrupt, "unexpected frame type " + std::to_string(int(f->type)) + " from the host");
      }
    }
    if (app.in && stdin_buf.empty() && stdin_eof) app.in.reset();
    pollfd fds[5] = {
        {stdin_buf.size() < kMaxStdinBuffer ? g_port : -1, POLLIN, 0},
        {!stdin_buf.empty() && app.in ? app.in.get() : -1, POLLOUT, 0},
        {app.out.get(), POLLIN, 0},
        {app.err.get(), POLLIN, 0},
        {app.pidfd.get(), POLLIN, 0},
    };
    if (::poll(fds, 5, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      uint8_t buf[65536];
      ssize_t n = ::read(g_port, buf, sizeof buf);
      if (n < 0 && errno != EINTR && errno != EAGAIN) return fail_errno("reading the port");
      if (n == 0) return fail(Errc::unavailable, "the host closed the port");
      if (n > 0) reader.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    }
    if (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t n = ::write(app.in.get(), stdin_buf.data(), stdin_buf.size());
      if (n > 0) stdin_buf.erase(0, static_cast<size_t>(n));
      if (n < 0 && errno == EPIPE) {  // the app closed its stdin: the rest has no reader
        stdin_buf.clear();
        app.in.reset();
      }
    }
    if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) && !TRY(pump_output(app.out.get(), FrameType::stdout_data))) app.out.reset();
    if ((fds[3].revents & (POLLIN | POLLHUP | POLLERR)) && !TRY(pump_output(app.err.get(), FrameType::stderr_data))) app.err.reset();
    if (fds[4].revents & POLLIN) {
      int st = 0;
      if (::waitpid(app.pid, &st, 0) != app.pid) return fail_errno("waitpid");
      // What it wrote before it ended is in the pipes; its children may keep them open, so read
      // only what is there now.
      if (app.out) (void)TRY(pump_output(app.out.get(), FrameType::stdout_data));
      if (app.err) (void)TRY(pump_output(app.err.get(), FrameType::stderr_data));
      if (WIFSIGNALED(st)) return FlakeExit{true, WTERMSIG(st)};
      return FlakeExit{false, WEXITSTATUS(st)};
    }
  }
}

}  // namespace

void guest_init_main() {
  uint64_t start = boottime_ns();
  // The kernel gives /init no descriptors when the initramfs has no /dev/console.
  (void)::mkdir("/dev", 0755);
  if (::mount("devtmpfs", "/dev", "devtmpfs", 0, nullptr) == 0) {
    int c = ::open("/dev/console", O_RDWR);
    if (c >= 0) {
      for (int fd = 0; fd < 3; ++fd)
        if (c != fd) ::dup2(c, fd);
      if (c > 2) ::close(c);
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (auto r = mount_fs("proc", "/proc", "proc", 0); !r) die(125, r.error().message);
  if (auto r = mount_fs("sysfs", "/sys", "sysfs", 0); !r) die(125, r.error().message);
  if (auto r = load_modules(); !r) die(125, r.error().message);
  uint64_t modules = boottime_ns();
  auto port = open_port();
  if (!port) die(125, port.error().message);
  g_port = port->release();
  timing("init", start);
  timing("modules", modules);
  timing("port");
  FrameReader reader;
  // The request first: a root that cannot be mounted is reported as an answer to it.
  auto req = read_request(reader);
  if (!req) die(125, "run request: " + req.error().message);
  if (req->terminal) die(125, "a terminal for the app is not supported yet");
  if (auto r = mount_root(); !r) die(125, "root file system: " + r.error().message);
  if (::chdir(kGuestRootMount) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) die(125, "chroot: " + std::string(std::strerror(errno)));
  timing("root");
  auto app = start_app(*req);
  if (!app) die(start_failure_exit_code(app.error()), app.error().message);
  timing("exec");
  auto exit = relay(*app, reader);
  if (!exit) die(125, "relaying the app's input and output: " + exit.error().message);
  timing("exited");
  (void)send(FrameType::exit, encode_exit(*exit));
  power_off();
}

}  // namespace tiffin::vm
