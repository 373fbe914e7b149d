#include "shim/runtime_cli.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/subprocess.hpp"

namespace tiffin::shim {

Result<RuntimeCall> spawn_runtime(const ShimConfig& c, const std::vector<std::string>& args, int in, int out, int err, int fd4) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd errors(p[0]), errors_w(p[1]);
  std::vector<std::string> argv = {c.runtime, "--root", c.runtime_root, "--error-fd", "3"};
  argv.insert(argv.end(), args.begin(), args.end());
  int w = errors_w.get();
  pid_t pid = TRY(spawn(argv, [=] {
    // The shim blocks the signals it reads through a signalfd and ignores SIGPIPE; neither may
    // reach the runtime, or through it the container's program (a blocked SIGTERM is a stop
    // that never arrives).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    int null = ::open("/dev/null", O_RDWR);
    if (null < 0) return false;
    // dup2 clears close-on-exec; the write end goes to 3 last (it may sit on 0..2 otherwise).
    int moved = ::fcntl(w, F_DUPFD_CLOEXEC, 10);
    int moved4 = fd4 >= 0 ? ::fcntl(fd4, F_DUPFD_CLOEXEC, 10) : -1;
    if (::dup2(in >= 0 ? in : null, 0) < 0 || ::dup2(out >= 0 ? out : null, 1) < 0 || ::dup2(err >= 0 ? err : null, 2) < 0) return false;
    if (fd4 >= 0 && (moved4 < 0 || ::dup2(moved4, 4) < 0)) return false;
    return moved >= 0 && ::dup2(moved, 3) >= 0;
  }));
  ::fcntl(errors.get(), F_SETFL, O_NONBLOCK);
  return RuntimeCall{pid, std::move(errors), args.empty() ? std::string() : args.front()};
}

Result<void> finish_runtime(RuntimeCall& call) {
  int status = 0;
  while (::waitpid(call.pid, &status, 0) < 0 && errno == EINTR) {
  }
  int code = exit_code(status);
  // What it wrote before exiting is in the pipe; the container's init may still hold the write
  // end (until it execs), so this reads what is there instead of waiting for end of file.
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(call.errors.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  call.errors.reset();
  if (code == 0) return {};
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty()) {
    auto e = decode_error(text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1));
    if (e) return std::unexpected(*e);
    return fail(Errc::internal, "the runtime's " + call.verb + " failed: " + text);
  }
  return fail(Errc::internal, "the runtime's " + call.verb + " exited with " + std::to_string(code));
}

Result<void> call_runtime(const ShimConfig& c, const std::vector<std::string>& args) {
  RuntimeCall call = TRY(spawn_runtime(c, args));
  return finish_runtime(call);
}

}  // namespace tiffin::shim
