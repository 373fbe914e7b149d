// The lazy, read-only filesystem over an flist (libfuse3 low-level API, multi-threaded).
// Metadata comes from the .fl through indexed queries (validated once at mount); file content
// is fetched block by block, only for the ranges that are read, through the node's verified
// block cache. The blocks of one read are fetched in parallel; sequential reads trigger
// read-ahead; the kernel page cache is kept across opens. A block that cannot be fetched in
// time, or fails verification, makes that read fail with EIO (and is logged); cached data keeps
// reading, and reads work again as soon as a store answers, without remounting.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "layer/rw_layer.hpp"

namespace tiffin {

struct MountOptions {
  std::string flist;
  std::string mountpoint;
  std::vector<std::string> stores;  // override the flist's routes
  std::string cache_dir = "/var/cache/tiffin/blocks";
  uint64_t cache_bytes = uint64_t(2) << 30;
  std::chrono::milliseconds timeout{5000};  // per block fetch, before a read fails with EIO
  unsigned readahead_blocks = 4;
  unsigned fetch_threads = 8;
  bool allow_other = true;       // containers run as other users
  std::string record_profile;    // write the blocks read, in first-read order, here at unmount
  std::string prefetch_profile;  // fetch these blocks into the cache in the background
  bool auto_prefetch = true;     // without prefetch_profile: the profile the flist carries, if any
  // Learning: the blocks read in the first `learn_window` after
  // mounting are POSTed, as a v1 profile, to `report_profile_url` (a hub's
  // /api/flist/<user>/<name>:<tag>/profile) with `report_token`, once the window closes or at
  // unmount, whichever comes first. The hub merges such reports into the profile it serves.
  std::string report_profile_url, report_token;
  std::chrono::seconds learn_window{30};
  unsigned prefetch_threads = 2;  // batch requests (64 blocks each) in flight while prefetching
  // Kernel FUSE passthrough (Linux 6.9+, root): a file whose content is in the node cache is
  // opened with that content as its backing file, and its reads bypass this process.
  bool passthrough = true;
  std::optional<layer::RwLayerOptions> rw;  // writable root: overlayfs over the flist on `mountpoint`
  std::string log_file;                     // a daemon's log (default: none)
  bool daemon = false;                      // return once mounted, serve in the background
  bool debug = false;
};

// Mounts and serves until unmounted or signalled (SIGTERM/SIGINT unmount cleanly).
Result<void> mount_flist(const MountOptions& opts);

// `tiffin flist profile`: mounts the flist on a temporary directory while recording, runs `argv`
// (chrooted into the mount when `chroot`, else with TIFFIN_MOUNT=<dir> in its environment),
// unmounts and saves the profile to opts.record_profile. Returns the command's exit status.
Result<int> profile_command(MountOptions opts, const std::vector<std::string>& argv, bool chroot);

// Unmounts a tiffin mount, also one whose process died (lazy detach).
Result<void> unmount_flist(const std::string& mountpoint);

}  // namespace tiffin
