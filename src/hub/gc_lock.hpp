// The interlock between the hub's garbage collector and the installing of flists:
// <root>/gc.lock, taken with flock(2) — shared by every install (HubRepository::put_flist and
// put_tree hold it from "are all my blocks here?" to the rename that publishes the flist),
// exclusive by the collector while it re-reads the flists and deletes a slice of blocks
// (hub_gc.hpp; slices keep an install's wait short).
//
// Why a lock on top of the grace period: the grace period keeps the blocks of a push in
// progress, but only if the collector runs for less than it and the push is not older than it;
// with --grace 0 (or a push slower than the grace) a block the hub said it had could vanish
// between put_flist's check and the rename, and the hub would serve an flist naming a block it
// no longer holds. Under the lock the two cannot interleave: an flist published before the
// collector took it is read by the collector (it re-scans for new files under the lock), one
// published after checks its blocks after the sweep and is refused (409) if any went, which
// the pusher answers by uploading them again (push.cpp).
//
// flock locks belong to the open file description, so the collector in another process (or a
// second opening in this one) excludes the hub's installs, and installs share with each other.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin::hub {

class GcLock {
 public:
  // Blocks until the lock on `root`'s gc.lock is held (the file is created if need be).
  static Result<GcLock> shared(const std::string& root);
  static Result<GcLock> exclusive(const std::string& root);

 private:
  explicit GcLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

}  // namespace tiffin::hub
