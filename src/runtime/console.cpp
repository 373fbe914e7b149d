#include "runtime/console.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/unix_socket.hpp"

namespace tiffin::runtime {

Result<UniqueFd> connect_console_socket(const std::string& path) {
  return TRY_CTX(connect_unix(path), "the console socket");
}

Result<void> send_fd(int sock, int fd, const std::string& name) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<char*>(name.data()), name.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return fail_errno("sending the terminal over the console socket");
  return {};
}

Result<UniqueFd> receive_fd(int sock) {
  char name[4096];
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{name, sizeof name};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return fail_errno("receiving a terminal");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return fail(Errc::io, "the console socket carried no file descriptor");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return UniqueFd(fd);
}

Result<Pty> open_pty() {
  Pty pty;
  pty.master = UniqueFd(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) return fail_errno("opening /dev/ptmx");
  if (::unlockpt(pty.master.get()) != 0) return fail_errno("unlockpt");
  char name[128];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) return fail_errno("ptsname");
  pty.slave_path = name;
  return pty;
}

Result<void> attach_terminal(const std::string& slave_path) {
  if (::setsid() < 0) return fail_errno("setsid");
  UniqueFd slave(::open(slave_path.c_str(), O_RDWR));
  if (!slave) return fail_errno("opening " + slave_path);
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return fail_errno("making " + slave_path + " the controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) return fail_errno("dup2 terminal");
  return {};
}

}  // namespace tiffin::runtime
