// The runtime talks to a process it is setting up over a SOCK_SEQPACKET pair: one short text
// message per step ("userns", "hooks", "ready", "error <message>"), so either side sees the
// other die as end of file instead of hanging.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

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

// The next message; "" when the other side is gone.
inline Result<std::string> sync_receive(int fd) {
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) < 0 && errno == EINTR) {
  }
  if (n < 0) return fail_errno("sync receive");
  return std::string(buf, static_cast<size_t>(n));
}

// Child side: reports the error and exits.
[[noreturn]] inline void child_fail(int fd, const Error& e) {
  (void)sync_send(fd, "error " + e.what());
  ::_exit(1);
}

}  // namespace tiffin::runtime
