// A pax tar written through libarchive into a ByteSink: what export_tar and the image archive
// writer share. The caller describes each entry (an archive_entry) and writes its data; an error
// of the sink comes back as it was, not as libarchive's "write failed".
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/error.hpp"

struct archive;
struct archive_entry;

namespace tiffin {

using ByteSink = std::function<Result<void>(std::span<const uint8_t>)>;

class TarWriter {
 public:
  explicit TarWriter(ByteSink sink);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  Result<void> open();
  Result<void> header(archive_entry* entry, const std::string& what);
  Result<void> data(std::span<const uint8_t> bytes, const std::string& what);
  Result<void> close();

 private:
  static long on_write(archive*, void* self, const void* buf, size_t len);
  Error error(const std::string& what);

  ByteSink sink_;
  std::optional<Error> failed_;
  archive* a_;
};

// An archive_entry freed when it goes out of scope.
struct ArchiveEntryFree {
  void operator()(archive_entry* e) const;
};
using UniqueArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;
UniqueArchiveEntry new_archive_entry();

}  // namespace tiffin
