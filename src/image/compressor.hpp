// Streaming gzip (zlib) and zstd compression into a sink: layers tiffin writes for registries.
#pragma once

#include <memory>
#include <span>

#include "flist/tar_export.hpp"
#include "image/manifest.hpp"

namespace tiffin::image {

class Compressor {
 public:
  // `level`: 0 for the library's default.
  static Result<std::unique_ptr<Compressor>> open(LayerCompression kind, ByteSink out, int level = 0);
  virtual ~Compressor() = default;
  virtual Result<void> write(std::span<const uint8_t> plain) = 0;
  virtual Result<void> finish() = 0;
};

}  // namespace tiffin::image
