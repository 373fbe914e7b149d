#include "cli/attach_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "cli/corex_notice.hpp"

namespace tiffin::cli {
namespace {

// Restores the terminal however the session ends.
class RawTerminal {
 public:
  explicit RawTerminal(bool enable) {
    if (!enable || !::isatty(0) || ::tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(0, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

void write_out(int fd, const std::string& data) { (void)write_all(fd, {reinterpret_cast<const uint8_t*>(data.data()), data.size()}); }

}  // namespace

std::optional<shim::Resize> terminal_size() {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return std::nullopt;
  return shim::Resize{ws.ws_row, ws.ws_col};
}

Result<int> attach_session(engine::ShimConnection& session, bool forward_stdin, bool tty, const std::function<void(int)>& forward_signal) {
  RawTerminal raw(tty && forward_stdin);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  if (forward_signal)
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  sigset_t old;
  ::sigprocmask(SIG_BLOCK, &set, &old);
  // Afterwards the mask is as it was; what arrived since the last read was for the session that
  // ended (the program's exit code is what the caller reports), so it is taken, not delivered.
  struct RestoreMask {
    sigset_t taken, mask;
    ~RestoreMask() {
      timespec now{};
      while (::sigtimedwait(&taken, nullptr, &now) > 0) {
      }
      ::sigprocmask(SIG_SETMASK, &mask, nullptr);
    }
  } restore{set, old};
  UniqueFd winch(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  bool stdin_open = forward_stdin;
  for (;;) {
    pollfd fds[3] = {{session.fd(), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {winch.get(), POLLIN, 0}};
    if (::poll(fds, 3, session.has_buffered() ? 0 : -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo si;
      bool resized = false;
      while (::read(winch.get(), &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) resized = true;
        else forward_signal(int(si.ssi_signo));
      }
      if (auto size = terminal_size(); resized && tty && size) (void)session.send(*size);
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n > 0) {
        (void)session.send(shim::StdinData{std::string(buf, static_cast<size_t>(n))});
      } else if (n == 0 || errno != EINTR) {
        (void)session.send(shim::StdinClose{});
        stdin_open = false;
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) || session.has_buffered()) {
      // One message per wake-up keeps stdin and resizes flowing while output pours in.
      shim::Message m = TRY(session.receive());
      if (auto* out = std::get_if<shim::Output>(&m)) write_out(out->stream == shim::Output::Stream::out ? 1 : 2, out->data);
      else if (auto* exited = std::get_if<shim::Exited>(&m)) return exited->exit_code;
      else if (auto* failed = std::get_if<shim::Failed>(&m)) return std::unexpected(failed->error);
    }
  }
}

Result<int> start_attached(engine::Engine& e, const std::string& id, bool with_stdin, bool tty) {
  engine::StartOptions o{true, with_stdin, tty ? terminal_size() : std::nullopt};
  auto started = TRY(e.start(id, o));
  // `start -a` of a --corex container: its address and token before coreX's own output.
  print_corex_notice(e, id, started.corex_token);
  auto code = attach_session(*started.session, with_stdin, tty, [&](int signal) { (void)e.kill(id, signal); });
  if (!code && code.error().kind == Errc::unavailable) return e.wait(id);
  return code;
}

}  // namespace tiffin::cli
