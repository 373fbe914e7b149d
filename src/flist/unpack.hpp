// Restoring an flist into a directory: content (fetched and verified through the stores),
// owners, modes (setuid, sticky), xattrs, times, symlinks, hard links, devices and fifos.
// Everything is created with *at() calls relative to directory fds opened with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, and files with O_EXCL | O_NOFOLLOW, so nothing is
// written outside the destination, whatever the flist names or the directory already holds.
#pragma once

#include <string>
#include <vector>

#include "flist/tree.hpp"
#include "store/block_store.hpp"

namespace tiffin {

struct UnpackOptions {
  unsigned threads = 0;  // 0: two per core (fetching overlaps with decoding)
  bool progress = true;
  bool same_owner = true;  // chown to the flist's owners (only possible as root)
  std::vector<std::string>* warnings = nullptr;
  // Damaged files (Node::damaged) are unpacked empty, with their metadata and a warning each, as
  // rfs unpacks them; `strict` refuses such an flist instead (Errc::invalid_input), before
  // anything is written.
  bool strict = false;
};

struct UnpackStats {
  uint64_t files = 0, bytes = 0;
};

Result<UnpackStats> unpack(const Tree& tree, BlockStore& store, const std::string& dest, const UnpackOptions& opts);

}  // namespace tiffin
