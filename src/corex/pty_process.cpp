#include "corex/pty_process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/default_path.hpp"

namespace tiffin::corex {

Result<void> set_window_size(int master, uint16_t rows, uint16_t cols) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  if (::ioctl(master, TIOCSWINSZ, &ws) != 0) return fail_errno("setting the terminal's size");
  return {};
}

Result<PtyChild> spawn_on_pty(const std::vector<std::string>& argv, const std::vector<std::string>& env, uint16_t rows, uint16_t cols) {
  if (argv.empty() || argv[0].empty()) return fail(Errc::invalid_input, "no program to start");
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return fail_errno("opening a pty");
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0) return fail_errno("unlocking a pty");
  char name[128];
  if (::ptsname_r(master.get(), name, sizeof name) != 0) return fail_errno("naming a pty");
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return fail_errno(std::string("opening ") + name);
  TRY(set_window_size(master.get(), rows, cols));
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  // Everything the child needs is made before fork: between fork and exec it only calls
  // async-signal-safe functions.
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  std::string path(kDefaultPath);
  for (const auto& e : env)
    if (e.starts_with("PATH=")) path = e.substr(5);
  // Candidates for a name without a slash, as execvp would try them.
  std::vector<std::string> candidates;
  if (argv[0].find('/') != std::string::npos) {
    candidates.push_back(argv[0]);
  } else {
    size_t start = 0;
    while (start <= path.size()) {
      size_t colon = path.find(':', start);
      std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      candidates.push_back((dir.empty() ? "." : dir) + "/" + argv[0]);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }

  // For the fallback without close_range(CLOSE_RANGE_CLOEXEC): sysconf is no async-signal-safe call.
  long open_max = ::sysconf(_SC_OPEN_MAX);
  int max_fd = open_max > 0 && open_max < (1 << 20) ? static_cast<int>(open_max) : 65536;

  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
    int fd = slave.get();
    if (::setsid() < 0 || ::ioctl(fd, TIOCSCTTY, 0) != 0 || ::dup2(fd, 0) < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) {
      int e = errno;
      (void)!::write(err_w.get(), &e, sizeof e);
      ::_exit(127);
    }
    // Asio makes its sockets, eventfds and epoll without O_CLOEXEC: a program coreX starts would
    // hold the listening sockets and the browsers' connections. Everything above 2 is closed at
    // the exec (not now: the error pipe must still report a failed exec). Linux 5.11+; on an
    // older kernel each descriptor is marked one by one.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int d = 3; d < max_fd; ++d) ::fcntl(d, F_SETFD, FD_CLOEXEC);
    }
    int e = ENOENT;
    for (const auto& c : candidates) {
      ::execve(c.c_str(), cargv.data(), cenv.data());
      // As execvp: EACCES is remembered but the search goes on; ENOENT/ENOTDIR go on quietly.
      if (errno != ENOENT && errno != ENOTDIR) e = errno;
    }
    (void)!::write(err_w.get(), &e, sizeof e);
    ::_exit(127);
  }
  slave.reset();
  err_w.reset();
  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(err_r.get(), &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (child_errno == ENOENT) return fail(Errc::program_not_found, "starting " + argv[0] + ": executable file not found");
    Error err{Errc::program_not_executable, child_errno, "starting " + argv[0] + ": " + std::strerror(child_errno)};
    return std::unexpected(err);
  }
  int flags = ::fcntl(master.get(), F_GETFL);
  ::fcntl(master.get(), F_SETFL, flags | O_NONBLOCK);
  return PtyChild{pid, std::move(master)};
}

}  // namespace tiffin::corex
