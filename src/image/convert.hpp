// An OCI image into an flist: the layers stream into the packer in order (compressed blobs are
// spooled while they download, several at once, never extracted to disk), with whiteouts and
// opaque directories applied; the image config becomes the flist's.
//
// A layer chain already converted is not converted again: after each layer the tree so far is
// kept as <cache_dir>/<chain>.fl, where chain = sha256 over the digests of the layers up to it
// (so a second image on the same base layers converts only its own). The blocks go to `store`.
#pragma once

#include <string>

#include "flist/tree.hpp"
#include "image/image_source.hpp"
#include "image/manifest.hpp"
#include "store/block_store.hpp"

namespace tiffin::image {

struct ConvertOptions {
  std::string cache_dir;  // the layer chains, and the spool of blobs being downloaded
  unsigned parallel_downloads = 3;
  bool progress = false;  // drawn only on a terminal
};

struct ConvertedImage {
  Tree tree;  // nodes, blocks and config; the caller sets routes and saves it
  ImageConfigDocument config;
  std::string manifest_digest;
  size_t layers = 0, layers_reused = 0;  // reused: found converted in the cache
  uint64_t bytes_downloaded = 0;         // compressed blob bytes fetched
  uint64_t bytes_converted = 0;          // file content packed (layers not reused)
};

Result<ConvertedImage> convert_image(ImageSource& source, const Platform& platform, BlockStore& store, const ConvertOptions& opts);

// The cache key of layers [0, n): sha256 chained over their digests.
std::string layer_chain_id(const std::vector<Descriptor>& layers, size_t n);
// The key of a chain one layer longer: `chain` is the key so far ("" for none), `digest` the
// next layer's ("sha256:…"). What a node computes for the chains a hub keeps.
std::string next_layer_chain(const std::string& chain, const std::string& digest);

}  // namespace tiffin::image
