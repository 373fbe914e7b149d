#include "runtime/console.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/unix_socket.hpp"

namespace tiffin::runtime {

Result<UniqueFd> connect_console_socket(const std::string& path) { return TRY_CTX(connect_unix(path), "the console socket"); }

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
