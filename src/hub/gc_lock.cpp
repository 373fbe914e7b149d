#include "hub/gc_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

namespace tiffin::hub {
namespace {

Result<UniqueFd> take_gc_lock(const std::string& root, int how) {
  std::string path = root + "/gc.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("open " + path);
  while (::flock(fd.get(), how) != 0)
    if (errno != EINTR) return fail_errno("flock " + path);
  return fd;
}

}  // namespace

Result<GcLock> GcLock::shared(const std::string& root) { return GcLock(TRY(take_gc_lock(root, LOCK_SH))); }
Result<GcLock> GcLock::exclusive(const std::string& root) { return GcLock(TRY(take_gc_lock(root, LOCK_EX))); }

}  // namespace tiffin::hub
