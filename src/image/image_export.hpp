// An flist back into an OCI image: its tree as one layer (a tar made by export_tar, compressed
// as asked) spooled to a file, an image config carrying the flist's ImageConfig, and the
// manifest. What `tiffin save` archives and `tiffin push` uploads.
#pragma once

#include <string>
#include <vector>

#include "flist/tree.hpp"
#include "image/manifest.hpp"
#include "store/block_store.hpp"

namespace tiffin::image {

struct ExportedImage {
  Descriptor layer;        // the layer blob as spooled (compressed or not)
  std::string layer_path;  // its spool file: the caller removes it
  std::string diff_id;     // sha256 of the uncompressed layer
  Bytes config_json;       // the image config blob
  Descriptor config;
  Bytes manifest_json;  // an OCI image manifest
  Descriptor manifest;  // its descriptor (mediaType, digest, size)
};

// The image config blob for `config` over layers `diff_ids` on `platform`.
Bytes image_config_json(const ImageConfig& config, const std::vector<std::string>& diff_ids, const Platform& platform);

Result<ExportedImage> export_image(
    const Tree& tree, BlockStore& store, const ImageConfig& config, LayerCompression compression, const std::string& spool_dir);

}  // namespace tiffin::image
