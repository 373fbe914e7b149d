// The runtime talks to a process it is setting up over a SOCK_SEQPACKET pair: one short text
// message per step ("userns", "cgroup <state JSON for the container's hooks>", "hooks", "ready",
// "error <encoded error>"), so either side sees the other die as end of file instead of hanging.
// A child's error travels in encode_error's wire form, so the runtime returns the very kind and
// errno the child saw (a missing program stays Errc::program_not_found, a missing bind source
// not_found with ENOENT).
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin::runtime {

struct SyncPair {
  UniqueFd parent, child;
};

inline Result<SyncPair> make_sync_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return fail_errno("socketpair");
  return SyncPair{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

inline Result<void> sync_send(int fd, const std::string& msg) {
  if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) < 0) return fail_errno("sync send");
  return {};
}

// The next message; "" when the other side is gone. Messages are at most 64 KiB: an error's
// context may quote a long path or hook output.
inline Result<std::string> sync_receive(int fd) {
  std::string buf(64 << 10, '\0');
  ssize_t n;
  while ((n = ::recv(fd, buf.data(), buf.size(), 0)) < 0 && errno == EINTR) {
  }
  if (n < 0) return fail_errno("sync receive");
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// Child side: reports the error and exits.
[[noreturn]] inline void child_fail(int fd, const Error& e) {
  Error sent = e;
  if (sent.message.size() > (32 << 10)) sent.message.resize(32 << 10);  // fits one message
  (void)sync_send(fd, "error " + encode_error(sent));
  ::_exit(1);
}

// Parent side: the next message, or the child's own error when it reported one with child_fail
// (a message that is not a valid encoding is Errc::internal quoting it).
inline Result<std::string> sync_receive_step(int fd) {
  std::string msg = TRY(sync_receive(fd));
  if (!msg.starts_with("error ")) return msg;
  auto e = decode_error(std::string_view(msg).substr(6));
  if (!e) return fail(Errc::internal, "a garbled error from the container's process: " + msg.substr(6, 200));
  return std::unexpected(std::move(*e));
}

// Parent side, after a step of its own failed (writing the child's pid to cgroup.procs, a send):
// the error the child reported meanwhile, if any. The child's failure is then the cause and
// ours only its consequence ("no such process"), so the caller reports the child's.
inline std::optional<Error> pending_child_error(int fd) {
  std::string buf(64 << 10, '\0');
  ssize_t n;
  while ((n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT)) > 0) {
    std::string_view msg(buf.data(), static_cast<size_t>(n));
    if (msg.starts_with("error "))
      if (auto e = decode_error(msg.substr(6))) return *e;
  }
  return std::nullopt;
}

// Parent side, when the child went away without reporting an error (killed by a signal — a
// seccomp filter's SIGSYS, the OOM killer — or an exit before it could write): reaps it, waiting
// up to a second, and says how it ended, so the user reads that rather than the consequence
// ("sync send: Broken pipe"). One still alive after that second is killed. `what` names the
// process ("the container's init").
inline Error silent_death(pid_t child, const std::string& what) {
  int status = 0;
  pid_t got = 0;
  for (int i = 0; i < 1000 && (got = ::waitpid(child, &status, WNOHANG)) == 0; ++i) ::usleep(1000);
  if (got != child) {
    // Alive but silent: no use to anyone half set up.
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return Error{Errc::internal, 0, what + " stopped answering during setup and was killed"};
  }
  std::string how = WIFSIGNALED(status)
                        ? "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")"
                        : "exited with status " + std::to_string(WEXITSTATUS(status));
  return Error{Errc::internal, 0, what + " " + how + " during setup, without reporting an error"};
}

}  // namespace tiffin::runtime
