// `tiffin push` and `tiffin pull`: moving flists between a node and a hub. A push sends only the
// blocks the hub lacks, then the flist with its routes pointing at the hub; a pull fetches the
// flist alone (its blocks come later, lazily, when the mount reads them).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "hub/flist_ref.hpp"

namespace tiffin::hub {

struct PushOptions {
  std::string token;
  std::vector<std::string> stores;  // where the blocks are; default: the flist's routes
  unsigned threads = 8;             // parallel uploads
  bool progress = true;
};

struct PushStats {
  uint64_t blocks = 0;       // distinct blocks the flist names
  uint64_t blocks_sent = 0;  // the ones the hub lacked
  uint64_t bytes_sent = 0;   // their sealed size
  uint64_t flist_bytes = 0;
  std::string url;  // where the flist can be pulled from
};

Result<PushStats> push_flist(const std::string& flist, const HubLocation& to, const PushOptions& opts);

struct PullOptions {
  // For the flist's GET (each of its tries): flists can be large and links slow. The profile's
  // GET, only advisory, gets one try of at most 10 s.
  std::chrono::milliseconds timeout{300000};
  mode_t mode = 0644;  // the copy's
};

// Downloads the flist at `from` to `output` (validated before it replaces anything there). An
// flist without an embedded prefetch profile gets the hub's (GET …/profile) written into its
// copy (flist_profile.hpp); a hub without one, or without the route, is no error.
Result<uint64_t> pull_flist(const HubLocation& from, const std::string& output, const PullOptions& opts = {});

}  // namespace tiffin::hub
