#include "flist/tar_export.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>

#include <memory>

#include "flist/content.hpp"

namespace tiffin {

namespace {

struct Writer {
  const ByteSink* sink;
  std::optional<Error> failed;  // the sink's error, which libarchive only sees as -1
};

la_ssize_t on_write(archive*, void* data, const void* buf, size_t len) {
  auto* w = static_cast<Writer*>(data);
  auto r = (*w->sink)({static_cast<const uint8_t*>(buf), len});
  if (!r) {
    w->failed = r.error();
    return -1;
  }
  return static_cast<la_ssize_t>(len);
}

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

Result<TarExportStats> export_tar(const Tree& tree, BlockStore& store, const ByteSink& sink) {
  Writer w{&sink, std::nullopt};
  std::unique_ptr<archive, ArchiveWriteFree> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_per_block(a.get(), 10240);
  auto error = [&](const std::string& what) -> Error {
    if (w.failed) return std::move(*w.failed);
    const char* m = archive_error_string(a.get());
    return Error{Errc::io, 0, what + ": " + (m ? m : "tar writer failed")};
  };
  if (archive_write_open(a.get(), &w, nullptr, on_write, nullptr) != ARCHIVE_OK) return std::unexpected(error("starting the tar"));

  TarExportStats stats;
  std::vector<std::string> first_path(tree.nodes.size());  // hard link groups: the path written with content
  for (size_t idx : tree.preorder()) {
    if (idx == Tree::kRoot) continue;
    const Node& n = tree.nodes[idx];
    std::string path = tree.path_of(idx).substr(1);  // "etc/passwd": relative, as layers are
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), n.is_dir() ? (path + "/").c_str() : path.c_str());
    archive_entry_set_mode(e.get(), n.mode);
    archive_entry_set_uid(e.get(), n.uid);
    archive_entry_set_gid(e.get(), n.gid);
    archive_entry_set_mtime(e.get(), n.mtime, 0);
    for (const auto& x : n.xattrs) archive_entry_xattr_add_entry(e.get(), x.name.c_str(), x.value.data(), x.value.size());
    bool content = false;
    if (n.is_reg()) {
      size_t group = n.hardlink.value_or(idx);
      if (!first_path[group].empty()) {
        archive_entry_set_hardlink(e.get(), first_path[group].c_str());
        archive_entry_set_size(e.get(), 0);
      } else {
        if (n.damaged()) return fail(Errc::corrupt, tree.describe_damage(idx));
        first_path[group] = path;
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(n.size));
        content = n.size > 0;
      }
    } else if (n.is_symlink()) {
      archive_entry_set_symlink(e.get(), n.link.c_str());
    } else if (S_ISCHR(n.mode) || S_ISBLK(n.mode)) {
      archive_entry_set_rdevmajor(e.get(), major(n.rdev));
      archive_entry_set_rdevminor(e.get(), minor(n.rdev));
    }
    if (archive_write_header(a.get(), e.get()) < ARCHIVE_WARN) return std::unexpected(error("tar entry " + path));
    ++stats.entries;
    if (!content) continue;
    uint64_t written = 0;
    TRY_CTX(read_blocks(n.blocks, store,
                [&](std::span<const uint8_t> chunk) -> Result<void> {
                  if (archive_write_data(a.get(), chunk.data(), chunk.size()) < 0) return std::unexpected(error("writing " + path));
                  written += chunk.size();
                  return {};
                }),
        tree.path_of(idx));
    if (written != n.size)
      return fail(
          Errc::corrupt, tree.path_of(idx) + ": its blocks hold " + std::to_string(written) + " bytes, not " + std::to_string(n.size));
    stats.content_bytes += written;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return std::unexpected(error("finishing the tar"));
  return stats;
}

}  // namespace tiffin
