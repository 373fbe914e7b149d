// Terminals for containers: a pty made inside the container's /dev/pts, its master handed to the
// caller over a unix socket (runc's --console-socket contract: one SCM_RIGHTS message), its slave
// made the process's controlling terminal and stdio.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/unix_socket.hpp"  // send_fd, receive_fd

namespace tiffin::runtime {

Result<UniqueFd> connect_console_socket(const std::string& path);

struct Pty {
  UniqueFd master;
  std::string slave_path;
};
// Opens /dev/ptmx of the current root.
Result<Pty> open_pty();
// setsid, then the slave becomes the controlling terminal and fds 0, 1 and 2.
Result<void> attach_terminal(const std::string& slave_path);

}  // namespace tiffin::runtime
