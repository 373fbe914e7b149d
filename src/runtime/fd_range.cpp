#include "runtime/fd_range.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "common/text.hpp"

namespace tiffin::runtime {

Result<void> close_fd_range(unsigned first, unsigned last, bool cloexec) {
  if (first > last) return {};
  if (::syscall(SYS_close_range, first, last, cloexec ? CLOSE_RANGE_CLOEXEC : 0) == 0) return {};
  if (errno != ENOSYS && errno != EPERM && errno != EINVAL) return fail_errno("close_range");
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return fail_errno("close_range unavailable, and listing /proc/self/fd");
  // Collected first: closing while reading the directory would change what it lists.
  std::vector<int> fds;
  int own = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    auto n = parse_uint(e->d_name);
    if (!n || *n < first || *n > last || static_cast<int>(*n) == own) continue;
    fds.push_back(static_cast<int>(*n));
  }
  ::closedir(dir);
  for (int fd : fds) {
    if (!cloexec) {
      ::close(fd);
      continue;
    }
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0)
      return fail_errno("marking fd " + std::to_string(fd) + " close-on-exec");
  }
  return {};
}

}  // namespace tiffin::runtime
