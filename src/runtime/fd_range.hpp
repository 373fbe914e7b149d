// Closing, or marking close-on-exec, every descriptor in a range, the way close_range(2) does but
// also where close_range is not there: an older kernel (ENOSYS) or a seccomp filter around the
// runtime that does not list it (EPERM — the runtime may itself run in a container). The fallback
// walks /proc/self/fd, as runc's CloseExecFrom does, so it needs openat, getdents64, fcntl/close.
#pragma once

#include "common/error.hpp"

namespace tiffin::runtime {

// Descriptors first..last (inclusive) are closed, or with `cloexec` marked close-on-exec.
Result<void> close_fd_range(unsigned first, unsigned last, bool cloexec);

}  // namespace tiffin::runtime
