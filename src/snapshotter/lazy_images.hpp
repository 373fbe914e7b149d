// Where the snapshotter gets images it serves lazily: the interface between the snapshot
// semantics (snapshotter.hpp) and the hub (hub_images.hpp), so the former is tested without one.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "common/error.hpp"
#include "snapshotter/snapshot_store.hpp"

namespace tiffin::snapshotter {

// The labels containerd's CRI plugin puts on each layer's Prepare during a pull (with
// disable_snapshot_annotations = false), and containerd's own target label.
inline constexpr const char* kTargetRefLabel = "containerd.io/snapshot.ref";  // the layer's chain id
inline constexpr const char* kImageRefLabel = "containerd.io/snapshot/cri.image-ref";
inline constexpr const char* kManifestDigestLabel = "containerd.io/snapshot/cri.manifest-digest";
inline constexpr const char* kLayerDigestLabel = "containerd.io/snapshot/cri.layer-digest";
// The digests of this layer and the layers above it, comma-separated: one digest means the
// image's top layer.
inline constexpr const char* kImageLayersLabel = "containerd.io/snapshot/cri.image-layers";

inline std::string label_of(const Labels& labels, const char* key) {
  auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

// A layer served lazily: keys of trees for mount() and release().
struct LazyLayer {
  std::string image;      // the whole image's tree (what its top layer holds)
  std::string chain;      // the id of the chain of layers up to this one; empty: not known
  std::string chain_key;  // the tree of that chain (what a lower layer holds); empty: none
};

class LazyImages {
 public:
  virtual ~LazyImages() = default;
  // The layer a Prepare's labels name, when its image is to be served lazily. `parent_chain`
  // is the parent layer's LazyLayer::chain ("" for the bottom layer; nullopt when the parent
  // was unpacked, so no chain can be known). nullopt: not lazily (no image labels, or no flist
  // for it): unpack it as usual. An error (the hub failing) also means "unpack as usual",
  // after a log line.
  virtual Result<std::optional<LazyLayer>> resolve(const Labels& labels, const std::optional<std::string>& parent_chain) = 0;
  // The directory holding the tree `key` names, mounted now if it is not.
  virtual Result<std::string> mount(const std::string& key) = 0;
  // No snapshot uses the tree any more: unmount it (unless an overlay still stacks on it)
  // and forget it.
  virtual void release(const std::string& key) = 0;
  // Releases every tree it holds but those in `keep` (the snapshotter's cleanup, after a crash
  // between a snapshot's removal and its image's release).
  virtual void release_all_but(const std::set<std::string>& keep) = 0;
};

}  // namespace tiffin::snapshotter
