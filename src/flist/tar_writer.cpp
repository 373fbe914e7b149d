#include "flist/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>

namespace tiffin {

void ArchiveEntryFree::operator()(archive_entry* e) const { archive_entry_free(e); }
UniqueArchiveEntry new_archive_entry() { return UniqueArchiveEntry(archive_entry_new()); }

TarWriter::TarWriter(ByteSink sink) : sink_(std::move(sink)), a_(archive_write_new()) {
  archive_write_set_format_pax_restricted(a_);
  archive_write_set_bytes_per_block(a_, 10240);
}

TarWriter::~TarWriter() { archive_write_free(a_); }

long TarWriter::on_write(archive*, void* self, const void* buf, size_t len) {
  auto* w = static_cast<TarWriter*>(self);
  if (auto r = w->sink_({static_cast<const uint8_t*>(buf), len}); !r) {
    w->failed_ = r.error();
    return -1;
  }
  return static_cast<long>(len);
}

Error TarWriter::error(const std::string& what) {
  if (failed_) return *failed_;
  const char* m = archive_error_string(a_);
  return Error{Errc::io, 0, what + ": " + (m ? m : "tar writer failed")};
}

Result<void> TarWriter::open() {
  if (archive_write_open(a_, this, nullptr, on_write, nullptr) != ARCHIVE_OK) return std::unexpected(error("starting the tar"));
  return {};
}

Result<void> TarWriter::header(archive_entry* entry, const std::string& what) {
  if (archive_write_header(a_, entry) < ARCHIVE_WARN) return std::unexpected(error("tar entry " + what));
  return {};
}

Result<void> TarWriter::data(std::span<const uint8_t> bytes, const std::string& what) {
  if (!bytes.empty() && archive_write_data(a_, bytes.data(), bytes.size()) < 0) return std::unexpected(error("writing " + what));
  return {};
}

Result<void> TarWriter::close() {
  if (archive_write_close(a_) != ARCHIVE_OK) return std::unexpected(error("finishing the tar"));
  return {};
}

}  // namespace tiffin
