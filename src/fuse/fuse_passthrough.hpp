// FUSE passthrough (Linux 6.9+): the kernel serves reads of an open file straight from a
// "backing" file the daemon names at open time, without a round trip to the daemon. Debian's
// libfuse 3.14 predates it, so these few pieces speak the kernel's protocol (linux/fuse.h, ABI
// 7.40) directly on the session's /dev/fuse descriptor, beside libfuse:
//   - INIT: libfuse still negotiates, but its reply is captured, FUSE_PASSTHROUGH and a stack
//     depth of 1 are added when the kernel offered them, and the patched reply is sent;
//   - OPEN: the daemon replies itself, with FOPEN_PASSTHROUGH and a backing id, or as a cached
//     open (libfuse never sees it);
//   - backing ids: FUSE_DEV_IOC_BACKING_OPEN / _CLOSE on the device.
// On a kernel without passthrough (or a non-root mount) every piece degrades to plain FUSE.
#pragma once

#include <cstdint>

#include "common/error.hpp"

struct fuse_session;
struct fuse_buf;

namespace tiffin::fusepass {

// Reads the INIT request from `se` and answers it through libfuse, asking for passthrough when
// `want` and the kernel offers it. `before_reply(offered)` runs before libfuse's init callback,
// so the filesystem knows whether it will handle opens itself. Returns whether passthrough was
// requested (the kernel may still refuse backing files: see open_backing).
Result<bool> negotiate_init(fuse_session* se, bool want, void (*before_reply)(void* ctx, bool offered), void* ctx);

// The opcode and unique id of a request as received; nullopt-like 0 opcode for a spliced buffer.
struct RequestHead {
  uint32_t opcode = 0;
  uint64_t unique = 0, nodeid = 0;
  uint32_t open_flags = 0;  // FUSE_OPEN's flags (O_RDONLY, …)
};
RequestHead request_head(const fuse_buf& buf);
inline constexpr uint32_t kOpcodeOpen = 14;  // FUSE_OPEN

// Registers `fd` (a regular file on a non-stacked filesystem) as a backing file; its id.
// Errc::unsupported when the kernel does not do passthrough for this mount.
Result<int> open_backing(int dev_fd, int fd);
void close_backing(int dev_fd, int backing_id);

// OPEN replies written to the device: passthrough to a backing id, a cached open (the page
// cache kept across opens), or an error. reply_open is false when the request was gone
// (interrupted): the kernel will send no RELEASE for it.
Result<bool> reply_open(int dev_fd, uint64_t unique, uint64_t fh, int backing_id /* -1: cached */);
Result<void> reply_error(int dev_fd, uint64_t unique, int err);

}  // namespace tiffin::fusepass
