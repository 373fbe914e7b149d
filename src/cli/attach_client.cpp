#include "cli/attach_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "common/unix_socket.hpp"
#include "shim/attach_protocol.hpp"

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

bool send_frame(int sock, const std::string& frame) {
  return write_all(sock, {reinterpret_cast<const uint8_t*>(frame.data()), frame.size()}).has_value();
}

void send_size(int sock) {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row) send_frame(sock, shim::encode_resize(ws.ws_row, ws.ws_col));
}

}  // namespace

Result<UniqueFd> connect_attach(const std::string& path) {
  auto fd = connect_unix(path);
  if (!fd && (fd.error().sys_errno == ENOENT || fd.error().sys_errno == ECONNREFUSED))
    return fail(Errc::conflict, "the container is not running (no shim to attach to)");
  return fd;
}

Result<int> attach_session(int sock, bool forward_stdin, bool tty) {
  RawTerminal raw(tty && forward_stdin);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd winch(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (tty) send_size(sock);

  bool stdin_open = forward_stdin;
  std::string in;
  std::optional<int> exit_code;
  for (;;) {
    pollfd fds[3] = {{sock, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {winch.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(winch.get(), &si, sizeof si) == sizeof si) {}
      if (tty) send_size(sock);
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n > 0) {
        send_frame(sock, shim::encode_frame(shim::Frame::stdin_data, {buf, static_cast<size_t>(n)}));
      } else if (n == 0 || errno != EINTR) {
        send_frame(sock, shim::encode_frame(shim::Frame::stdin_close, {}));
        stdin_open = false;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::read(sock, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      for (;;) {
        auto f = TRY(shim::take_frame(in));
        if (!f) break;
        const std::string& p = f->payload;
        switch (f->type) {
          case shim::Frame::stdout_data:
            (void)write_all(1, {reinterpret_cast<const uint8_t*>(p.data()), p.size()});
            break;
          case shim::Frame::stderr_data:
            (void)write_all(2, {reinterpret_cast<const uint8_t*>(p.data()), p.size()});
            break;
          case shim::Frame::error:
            if (!p.empty()) {
              std::string line = "tiffin: " + p + "\n";
              (void)write_all(2, {reinterpret_cast<const uint8_t*>(line.data()), line.size()});
            }
            break;
          case shim::Frame::exit:
            exit_code = std::atoi(p.c_str());
            break;
          default:
            break;
        }
      }
      if (exit_code) break;
    }
  }
  if (!exit_code) return fail(Errc::unavailable, "the container's shim went away");
  return *exit_code;
}

}  // namespace tiffin::cli
