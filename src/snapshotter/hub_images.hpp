// Images served lazily from a tiffin hub (LazyImages): a layer's CRI labels name the image
// (cri.image-ref) and its manifest digest; the hub holds the image as the flist
// <user>/<repository's last component>:sha256-<hex> (hub_convert.hpp's name for a reference by
// digest). The flist is fetched once into <root>/flists/<hex>.fl; when the hub has none it is
// asked to convert the image from its registry (unless only_existing), so the first node to run
// an image converts it for all. Mounted by `tiffin-full flist mount --daemon` at
// <root>/mounts/<hex> (engine/flist_mounts.hpp): the mount is its own process, so it outlives a
// restart of the snapshotter, whose containers keep reading through it.
// Prefetch profiles: the copy carries the profile the hub learnt for the flist, which its mount
// prefetches; with a token, each mount reports what its first seconds read, to teach the hub.
// A layer below an image's top is the hub's chain of the layers up to it (image/convert.hpp's
// chain key over the layers' digests, which the hub serves at /api/layers/<hex>): the tree key
// "chain-<hex>", fetched into <root>/flists and mounted, with the hub as its block store, only
// when a snapshot is prepared on that layer.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "snapshotter/lazy_images.hpp"

namespace tiffin::snapshotter {

struct HubImagesOptions {
  std::string hub_url;         // http(s)://host:port of the hub (a trailing '/' is dropped)
  std::string user;            // the hub user whose flists hold the images
  std::string token;           // the user's token, for conversions (empty: lookups only)
  bool only_existing = false;  // serve lazily only images the hub has already converted
  bool share_profiles = true;  // with a token: mounts report what a start reads to the hub
  std::string root;            // the snapshotter's root
  std::string tiffin_binary;   // tiffin-full, for `flist mount`
  std::string cache_dir;       // the node's block cache
};

class HubImages : public LazyImages {
 public:
  explicit HubImages(HubImagesOptions opts);
  Result<std::optional<LazyLayer>> resolve(const Labels& labels, const std::optional<std::string>& parent_chain) override;
  Result<std::string> mount(const std::string& key) override;
  void release(const std::string& key) override;
  void release_all_but(const std::set<std::string>& keep) override;

  std::string flist_path(const std::string& key) const { return opts_.root + "/flists/" + key + ".fl"; }
  std::string mountpoint(const std::string& key) const { return opts_.root + "/mounts/" + key; }
  // The image's flist name on the hub ("user/name:tag"), beside its copy; chains have none.
  std::string hub_name_path(const std::string& key) const { return opts_.root + "/flists/" + key + ".name"; }

 private:
  Result<std::optional<std::string>> fetch(const std::string& image, const std::string& key);
  Result<void> fetch_chain(const std::string& key);
  std::shared_ptr<std::mutex> lock_for(const std::string& key);

  HubImagesOptions opts_;
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<std::mutex>> locks_;  // one fetch or release per tree at a time
};

}  // namespace tiffin::snapshotter
