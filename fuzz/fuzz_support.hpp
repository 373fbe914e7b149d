// What the fuzz targets share: a block store that keeps nothing, and a bound on how much an
// input may decompress to (a few kB of zstd or gzip can stand for gigabytes, which are valid
// content that only takes long to pack: a timeout, not a finding).
#pragma once

#include <archive.h>

#include <cstdint>
#include <vector>

#include "store/block_store.hpp"

namespace tiffin::fuzz {

class NullStore final : public BlockStore {
 public:
  Result<Bytes> get(const Hash&) override { return fail(Errc::not_found, "null store"); }
  Result<void> put(const Hash&, std::span<const uint8_t>) override { return {}; }
  Result<bool> has(const Hash&) override { return true; }
  std::string url() const override { return "null://"; }
};

// Whether `data`, decompressed by whatever filters libarchive recognises, is longer than `limit`.
inline bool expands_beyond(const uint8_t* data, size_t size, size_t limit) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  bool beyond = false;
  archive_entry* e = nullptr;
  if (archive_read_open_memory(a, data, size) == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::vector<char> buf(1 << 16);
    size_t total = 0;
    la_ssize_t n;
    while ((n = archive_read_data(a, buf.data(), buf.size())) > 0)
      if ((total += static_cast<size_t>(n)) > limit) {
        beyond = true;
        break;
      }
  }
  archive_read_free(a);
  return beyond;
}

}  // namespace tiffin::fuzz
