// Images on disk, as other tools write them:
//   an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>): skopeo, umoci, buildkit,
//     `docker save` from docker 25 on, `podman save --format oci-archive`;
//   a docker archive (manifest.json listing each image's Config, RepoTags and Layers): `docker
//     save` up to docker 24, `podman save` (its default).
// `docker save` and friends write these as tar files: unpack_image_archive puts one in a
// directory first (no layer is extracted: the layers stay tars, streamed by the converter).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/image_source.hpp"

namespace tiffin::image {

struct LayoutImage {
  std::vector<std::string> names;  // as the layout names it: "busybox:latest", "localhost/x:1"
  std::unique_ptr<ImageSource> source;
};

// Every image the layout lists, in its order. Errc::invalid_input when `dir` is neither kind.
Result<std::vector<LayoutImage>> open_image_layout(const std::string& dir);

// Unpacks an image archive (a tar, any compression) read from `fd` into the empty directory
// `dir`: directories and regular files only, plus links (symbolic or hard) to files inside the
// archive, which become hard links. Anything else, or any name leaving `dir`, is refused.
Result<void> unpack_image_archive(int fd, const std::string& dir);

}  // namespace tiffin::image
