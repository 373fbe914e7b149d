#include "engine/shim_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/ofd_lock.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"
#include "common/unix_socket.hpp"

namespace tiffin::engine {

Result<ShimConnection> ShimConnection::connect(const std::string& socket_path) {
  auto fd = connect_unix(socket_path);
  if (!fd) {
    int e = fd.error().sys_errno;
    if (e == ENOENT || e == ECONNREFUSED) return fail(Errc::unavailable, "the container's shim is not running");
    return std::unexpected(fd.error());
  }
  return ShimConnection(std::move(*fd));
}

Result<void> ShimConnection::send(const shim::Message& m) {
  std::string frame = shim::encode_message(m);
  std::string_view left = frame;
  while (!left.empty()) {
    // MSG_NOSIGNAL: a shim that exits as we write (`wait` right after `kill`) is an error the
    // callers handle, not a SIGPIPE that kills the CLI.
    ssize_t n = ::send(fd_.get(), left.data(), left.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) return fail(Errc::unavailable, "the container's shim went away");
      return fail_errno("writing to the container's shim");
    }
    left.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<shim::Message> ShimConnection::receive() {
  for (;;) {
    auto m = TRY(shim::take_message(buffer_, offset_));
    if (m) {
      if (offset_ > 65536) buffer_.erase(0, std::exchange(offset_, 0));
      // The answer to Start: the launcher's hold on the shim can go.
      if (std::holds_alternative<shim::Started>(*m) || std::holds_alternative<shim::Failed>(*m)) launch_.reset();
      return std::move(*m);
    }
    char buf[65536];
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != ECONNRESET) return fail_errno("reading from the shim");
    if (n <= 0) return fail(Errc::unavailable, "the container's shim went away");
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

Result<void> ShimConnection::call_done(const shim::Message& request) {
  TRY(call<shim::Done>(request));
  return {};
}

Result<UniqueFd> launch_shim(const std::string& shim_binary, const std::string& config_path, int secret_env_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd ready(p[0]), ready_w(p[1]);
  pid_t pid = TRY(spawn({shim_binary, config_path}, [w = ready_w.get(), secret_env_fd] {
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0) return false;
    int w3 = ::fcntl(w, F_DUPFD_CLOEXEC, 10), s4 = secret_env_fd >= 0 ? ::fcntl(secret_env_fd, F_DUPFD_CLOEXEC, 10) : -1;
    if (secret_env_fd >= 0 && (s4 < 0 || ::dup2(s4, 4) < 0)) return false;
    return w3 >= 0 && ::dup2(w3, 3) >= 0;  // dup2 clears close-on-exec
  }));
  ready_w.reset();
  int code = wait_exit(pid);  // the shim detached; this was its first process
  // Its answer is one frame; the pipe stays open (the shim holds it until Start).
  std::string buffer;
  size_t offset = 0;
  for (;;) {
    auto m = shim::take_message(buffer, offset);
    if (!m) return std::unexpected(m.error());
    if (*m) {
      if (auto* f = std::get_if<shim::Failed>(&**m)) return std::unexpected(f->error.context("starting the shim"));
      if (std::holds_alternative<shim::Done>(**m)) return ready;
      return fail(Errc::internal, "the shim said " + std::string(shim::message_name(**m)) + " at start");
    }
    char buf[4096];
    ssize_t n = ::read(ready.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(Errc::internal, "the shim (" + shim_binary + ") exited with " + std::to_string(code) + " before it listened");
    buffer.append(buf, static_cast<size_t>(n));
  }
}

bool shim_alive(const std::string& run_dir) { return ofd_lock_held(run_dir + "/shim.pid"); }

Result<ShimConnection> connect_shim(const std::string& run_dir) {
  // A shim takes its lock, then listens: in between (a few system calls) it is alive and not
  // reachable yet.
  for (int delay_us = 200;; delay_us *= 2) {
    auto conn = ShimConnection::connect(run_dir + "/shim.sock");
    if (conn || conn.error().kind != Errc::unavailable || delay_us > 800000 || !shim_alive(run_dir)) return conn;
    ::usleep(static_cast<useconds_t>(delay_us));
  }
}

bool wait_shim_exit(const std::string& run_dir, std::chrono::milliseconds timeout) {
  auto text = read_file(run_dir + "/shim.pid", 64);  // "<pid>\n"
  std::string_view digits = text ? std::string_view(reinterpret_cast<const char*>(text->data()), text->size()) : "";
  auto pid = parse_int<pid_t>(digits.substr(0, digits.find('\n')));
  if (!pid) return !shim_alive(run_dir);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0)));
  // Opened before the check, so a pid reused after the shim's exit is never waited for.
  if (!pidfd || !shim_alive(run_dir)) return !shim_alive(run_dir);
  pollfd p{pidfd.get(), POLLIN, 0};
  int rc;
  while ((rc = ::poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
  }
  return rc > 0;
}

}  // namespace tiffin::engine
