// Images as one tar that `docker load` (manifest.json: Config, RepoTags, Layers) and OCI tools
// (oci-layout, index.json, blobs/sha256/…: skopeo's oci-archive, containerd) both read: the
// layout docker 25's `docker save` writes. Blobs shared by images are written once.
#pragma once

#include <string>
#include <vector>

#include "flist/tar_export.hpp"
#include "image/image_export.hpp"

namespace tiffin::image {

struct ArchivedImage {
  const ExportedImage* image;
  std::vector<std::string> names;  // "busybox:latest", "host:5000/app:1" (may be empty)
};

Result<void> write_image_archive(const std::vector<ArchivedImage>& images, const ByteSink& out);

}  // namespace tiffin::image
