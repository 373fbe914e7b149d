// Liveness by lock: a long-lived process (a container's shim, the node's resolver) holds an
// open-file-description write lock on a file of its own for its whole life. The kernel drops the
// lock when the process dies, however it dies (kill -9 too), so the lock — never a pid, which
// can be reused — says whether it is alive.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin {

// Whether some process holds a lock on `path`: one open and one F_OFD_GETLK, a query that never
// takes the lock a starting process may be reaching for. False when the file does not exist.
bool ofd_lock_held(const std::string& path);

// Takes the lock on `path` (created with `mode` if missing), held as long as the returned
// descriptor (or a fork's copy of it) is open; Errc::conflict when another process holds it.
Result<UniqueFd> take_ofd_lock(const std::string& path, int mode = 0644);

}  // namespace tiffin
