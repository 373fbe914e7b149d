// tiffin exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD… — through the runtime
// directly: no round trip through the shim, so an exec costs one clone.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.hpp"
#include "common/subprocess.hpp"

namespace tiffin::cli {
namespace {

// -t: copies between the process's terminal and ours until it closes; its exit code.
int copy_terminal(engine::ExecTerminal& t, bool interactive) {
  termios saved{};
  bool raw = interactive && ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  if (raw) {
    termios r = saved;
    ::cfmakeraw(&r);
    ::tcsetattr(0, TCSANOW, &r);
    winsize ws{};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(t.master.get(), TIOCSWINSZ, &ws);
  }
  bool in_open = interactive;
  for (;;) {
    pollfd fds[2] = {{t.master.get(), POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char buf[4096];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n > 0) (void)write_all(t.master.get(), {reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n)});
      else {
        in_open = false;
        (void)write_all(t.master.get(), {reinterpret_cast<const uint8_t*>("\x04"), 1});
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::read(t.master.get(), buf, sizeof buf);
      if (n <= 0) break;
      (void)write_all(1, {reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n)});
    }
  }
  if (raw) ::tcsetattr(0, TCSANOW, &saved);
  return wait_exit(t.pid);
}

}  // namespace

void add_exec(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string ref;
    engine::ExecRequest req;
    bool interactive = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* exec = app.add_subcommand("exec", "Run a command in a running container");
  exec->add_flag("-i,--interactive", o->interactive, "Keep stdin open");
  exec->add_flag("-t,--tty", o->req.tty, "Allocate a pseudo-terminal");
  exec->add_flag("-d,--detach", o->req.detach, "Run in the background");
  exec->add_option("-e,--env", o->req.env, "Environment variable KEY=value");
  exec->add_option("-w,--workdir", o->req.workdir, "Working directory");
  exec->add_option("-u,--user", o->req.user, "name|uid[:group|gid]");
  exec->add_option("container", o->ref)->required();
  exec->callback([&ctx, o] {
    ctx.run_container_verb([&]() -> Result<int> {
      engine::ExecRequest req = o->req;
      req.args = ctx.command;
      if (req.args.empty()) return fail(Errc::invalid_input, "exec needs a command after the container");
      auto e = TRY(ctx.open_engine());
      if (req.tty && !req.detach) {
        engine::ExecTerminal t = TRY(e.exec_terminal(o->ref, req));
        return copy_terminal(t, o->interactive);
      }
      req.tty = false;
      UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
      if (!o->interactive && null) ::dup2(null.get(), 0);
      if (!req.detach) return e.exec(o->ref, req);
      // -d: the process keeps none of our stdio (as with docker, its output goes nowhere), so
      // whoever reads our output sees its end when we exit.
      UniqueFd out(::fcntl(1, F_DUPFD_CLOEXEC, 3)), err(::fcntl(2, F_DUPFD_CLOEXEC, 3));
      if (null) {
        ::dup2(null.get(), 1);
        ::dup2(null.get(), 2);
      }
      auto started = e.exec(o->ref, req);
      if (out) ::dup2(out.get(), 1);
      if (err) ::dup2(err.get(), 2);
      return started;
    });
  });
}

}  // namespace tiffin::cli
