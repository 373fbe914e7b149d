// Serves a FUSE session with a fixed set of worker threads, each receiving a request and
// handing it to libfuse, unless `intercept` took it first (the passthrough OPEN, which libfuse
// 3.14 cannot express). Returns once the filesystem is unmounted, or after SIGTERM, SIGINT or
// SIGHUP (those are taken by the calling thread, which must not block them itself).
#pragma once

#include <functional>

#include "common/error.hpp"

struct fuse_session;
struct fuse_buf;

namespace tiffin {

struct SessionLoopOptions {
  unsigned threads = 16;                           // requests served at once (a read waiting for a block holds one)
  std::function<bool(const fuse_buf&)> intercept;  // true: the request was answered
};

Result<void> run_session_loop(fuse_session* se, const SessionLoopOptions& opts);

}  // namespace tiffin
