// Where an image's manifest and blobs come from: a registry (registry_source.hpp) or an OCI
// layout / docker archive on disk (layout_source.hpp). The converter works on this alone.
#pragma once

#include <functional>
#include <span>
#include <string>

#include "common/error.hpp"
#include "image/manifest.hpp"

namespace tiffin::image {

struct ResolvedImage {
  Manifest manifest;
  std::string digest;  // the manifest's digest: what `images --digests` shows ("" when it has none)
};

// Receives a blob's bytes in order; returning an error aborts the transfer.
using BlobSink = std::function<Result<void>(std::span<const uint8_t>)>;

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // "localhost:5000/app:1", "archive x.tar": for messages.
  virtual std::string describe() const = 0;
  // The manifest of the image for `platform` (an index resolved to its entry for it).
  virtual Result<ResolvedImage> resolve(const Platform& platform) = 0;
  // The blob's bytes, checked against desc.digest and desc.size: Errc::corrupt when they differ
  // (the sink may have seen them; the caller discards what it made of them).
  virtual Result<void> blob(const Descriptor& desc, const BlobSink& sink) = 0;
};

}  // namespace tiffin::image
