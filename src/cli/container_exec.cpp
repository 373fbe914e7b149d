// tiffin exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD… — through the runtime
// directly: no round trip through the shim, so an exec costs one clone.
#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

#include "cli/cli.hpp"
#include "common/subprocess.hpp"
#include "common/unix_socket.hpp"
#include "runtime/console.hpp"
#include "runtime/container.hpp"
#include "shim/shim.hpp"

namespace tiffin::cli {
namespace {

// -t: the runtime hands us the pty master; we copy between it and our terminal.
Result<int> exec_with_terminal(const runtime::RuntimeOptions& rt, runtime::ExecOptions opts, bool interactive) {
  char dir_template[] = "/tmp/tiffin-exec-XXXXXX";
  if (!::mkdtemp(dir_template)) return fail_errno("mkdtemp");
  std::string dir = dir_template;
  std::string sock_path = dir + "/console.sock";
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  UniqueFd listener = TRY(listen_unix(sock_path));
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // the exec'd process becomes our child to wait for
  opts.console_socket = sock_path;
  opts.detach = true;
  opts.pid_file = dir + "/pid";
  std::promise<Result<int>> done;
  auto result = done.get_future();
  std::thread runner([&] { done.set_value(runtime::exec_in_container(rt, opts)); });
  UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  runner.join();
  auto started = result.get();
  if (!started) return std::unexpected(started.error());
  if (!conn) return fail_errno("accept on the console socket");
  UniqueFd master = TRY(runtime::receive_fd(conn.get()));
  Bytes pid_text = TRY(read_file(opts.pid_file));
  pid_t pid = static_cast<pid_t>(std::atoi(std::string(pid_text.begin(), pid_text.end()).c_str()));
  termios saved{};
  bool raw = interactive && ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  if (raw) {
    termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
    winsize ws{};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master.get(), TIOCSWINSZ, &ws);
  }
  bool in_open = interactive;
  for (;;) {
    pollfd fds[2] = {{master.get(), POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char buf[4096];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n > 0) (void)write_all(master.get(), {reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n)});
      else {
        in_open = false;
        (void)write_all(master.get(), {reinterpret_cast<const uint8_t*>("\x04"), 1});
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::read(master.get(), buf, sizeof buf);
      if (n <= 0) break;
      (void)write_all(1, {reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n)});
    }
  }
  if (raw) ::tcsetattr(0, TCSANOW, &saved);
  return wait_exit(pid);
}

}  // namespace

void add_container_exec(CLI::App& app) {
  struct Opts {
    std::string ref, workdir, user;
    std::vector<std::string> env;
    bool interactive = false, tty = false, detach = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* exec = app.add_subcommand("exec", "Run a command in a running container");
  exec->add_flag("-i,--interactive", o->interactive, "Keep stdin open");
  exec->add_flag("-t,--tty", o->tty, "Allocate a pseudo-terminal");
  exec->add_flag("-d,--detach", o->detach, "Run in the background");
  exec->add_option("-e,--env", o->env, "Environment variable KEY=value");
  exec->add_option("-w,--workdir", o->workdir, "Working directory");
  exec->add_option("-u,--user", o->user, "uid[:gid]");
  exec->add_option("container", o->ref)->required();
  exec->callback([o] {
    run_verb([&]() -> Result<int> {
      auto r = [&]() -> Result<int> {
        auto e = TRY(open_engine());
        // The runtime's state is what decides (a container without it is not running); the
        // engine's own view of the container is not needed for an exec.
        std::string id = TRY(e.resolve_container(o->ref));
        runtime::RuntimeOptions rt{e.runtime_root(), false};
        runtime::ExecOptions opts;
        opts.id = id;
        auto process = runtime::exec_process(rt, id);
        if (!process && process.error().kind == Errc::not_found)
          return fail(Errc::conflict, "container " + o->ref + " is not running");
        opts.process = TRY(std::move(process));
        opts.process.args = trailing_command();
        if (opts.process.args.empty()) return fail(Errc::invalid_input, "exec needs a command after the container");
        opts.process.terminal = o->tty;
        for (const auto& kv : o->env) engine::set_env(opts.process.env, kv);
        if (!o->workdir.empty()) opts.process.cwd = o->workdir;
        if (!o->user.empty()) {
          std::string u = o->user.substr(0, o->user.find(':'));
          if (u.find_first_not_of("0123456789") != std::string::npos) return fail(Errc::invalid_input, "exec -u takes uid[:gid]");
          opts.process.user.uid = static_cast<uint32_t>(std::stoul(u));
          if (o->user.find(':') != std::string::npos) opts.process.user.gid = static_cast<uint32_t>(std::stoul(o->user.substr(o->user.find(':') + 1)));
        }
        opts.detach = o->detach;
        if (o->tty && !o->detach) return exec_with_terminal(rt, opts, o->interactive);
        UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!o->interactive && null) ::dup2(null.get(), 0);
        if (!o->detach) return runtime::exec_in_container(rt, opts);
        // -d: the process keeps none of our stdio (as with docker, its output goes nowhere), so
        // whoever reads our output sees its end when we exit.
        UniqueFd out(::fcntl(1, F_DUPFD_CLOEXEC, 3)), err(::fcntl(2, F_DUPFD_CLOEXEC, 3));
        if (null) {
          ::dup2(null.get(), 1);
          ::dup2(null.get(), 2);
        }
        auto started = runtime::exec_in_container(rt, opts);
        if (out) ::dup2(out.get(), 1);
        if (err) ::dup2(err.get(), 2);
        return started;
      }();
      if (!r) {
        fmt::print(stderr, "tiffin: {}\n", r.error().message);
        return shim::creation_exit_code(r.error().message);
      }
      return *r;
    });
  });
}

}  // namespace tiffin::cli
