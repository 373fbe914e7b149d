// One lazy mount per image in use, shared by all its containers (their overlays' lower layer):
// <run-root>/mounts/<image id>, served by a `tiffin flist mount --daemon` process. A mount whose
// process died (ENOTCONN) is detached and mounted again. The last overlay gone, it is unmounted.
// Both run under an flock of the image's mount, so concurrent CLIs neither mount twice nor
// unmount what another just started using.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::engine {

struct FlistMountPaths {
  std::string tiffin_binary, flist, mountpoint, cache_dir, log_file;
  // The engine's --root: `flist mount` checks the flist against the trust policy there
  // (trust_policy.hpp), so an image is checked again whenever its mount is made anew.
  std::string root;
  // Block stores to read from instead of the flist's routes (a flist without routes).
  std::vector<std::string> stores;
  // The hub flist (http(s)://hub/user/name:tag) to report the blocks read in the mount's first
  // seconds to (`flist mount --share-profile`), with a token of that hub, passed in the mount's
  // environment; either empty: no report.
  std::string share_profile, hub_token;
};

Result<void> ensure_flist_mount(const FlistMountPaths& m);
// Unmounts unless an overlay still uses it as its lower layer.
void release_flist_mount(const std::string& mountpoint);
// Whether a live tiffin FUSE mount is on `path`.
bool flist_mounted(const std::string& path);

}  // namespace tiffin::engine
