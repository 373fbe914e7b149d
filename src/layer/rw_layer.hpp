// The writable root over a read-only flist mount: overlayfs with the flist mount as lower layer
// and a per-mount upper layer. With a size, the upper layer lives on an ext4 image of that size
// in the storage pool of the chosen disk type, loop-mounted, so writes beyond it fail with
// ENOSPC instead of filling the node's disk.
//
// Layout of the layer directory <dir>:
//   <dir>/lower       the flist's FUSE mount
//   <dir>/rw          the upper filesystem (a plain directory, or the loop-mounted image)
//   <dir>/rw/upper, <dir>/rw/work   overlayfs's upperdir and workdir
// The image is <pools>/<disk type>/<name of dir>-<hash of its path>.img and, like <dir>, is kept
// across unmounts: it is the container's data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::layer {

struct RwLayerOptions {
  std::string dir;                                  // the layer directory (made when absent)
  uint64_t size_mib = 0;                            // 0: no limit beyond the disk's
  std::string disk_type = "ssd";                    // ssd | hdd: which pool holds the image
  std::string pools_dir = "/var/lib/tiffin/pools";  // pool of a type: <pools_dir>/<type>
  std::string lower;                                // the read-only layer; default <dir>/lower (the engine shares one mount per flist)
  std::vector<std::string> over_lower;              // read-only directories stacked over `lower`, top first
};

std::string rw_lower_dir(const RwLayerOptions& o);
Result<void> validate_rw_options(const RwLayerOptions& o);

// Prepares <dir>/rw (making, formatting and loop-mounting the image when sized) and the
// directories; on failure nothing stays mounted.
Result<void> prepare_rw_layer(const RwLayerOptions& o);
// Mounts the overlay on `target`; <dir>/lower must be mounted already.
Result<void> mount_overlay(const RwLayerOptions& o, const std::string& target);
// Unmounts the overlay (if mounted) and the sized upper filesystem (if mounted). Idempotent.
void release_rw_layer(const RwLayerOptions& o, const std::string& target);

// The layer directory of the tiffin overlay mounted on `target`, if that is what it is.
std::optional<std::string> overlay_layer_dir(const std::string& target);

// Makes (sparse, ext4) or reuses the image of `size_mib` and loop-mounts it on `target`
// (nosuid, nodev); the loop device detaches itself once unmounted. Sized layers and volumes.
Result<void> mount_sized_fs(const std::string& image, uint64_t size_mib, const std::string& target);

// The image file of a sized layer.
std::string rw_image_path(const RwLayerOptions& o);

}  // namespace tiffin::layer
