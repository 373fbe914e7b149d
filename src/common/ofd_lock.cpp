#include "common/ofd_lock.hpp"

#include <fcntl.h>

namespace tiffin {

bool ofd_lock_held(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  struct flock probe {};
  probe.l_type = F_RDLCK;
  probe.l_whence = SEEK_SET;
  return ::fcntl(fd.get(), F_OFD_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
}

Result<UniqueFd> take_ofd_lock(const std::string& path, int mode) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, mode));
  if (!fd) return fail_errno("opening " + path);
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_SETLK, &whole) != 0) {
    if (errno == EAGAIN || errno == EACCES) return std::unexpected(Error{Errc::conflict, errno, path + " is locked by another process"});
    return fail_errno("locking " + path);
  }
  return fd;
}

}  // namespace tiffin
