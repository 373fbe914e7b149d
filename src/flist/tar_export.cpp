#include "flist/tar_export.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>

#include "flist/content.hpp"
#include "flist/tar_writer.hpp"

namespace tiffin {

Result<TarExportStats> export_tar(const Tree& tree, BlockStore& store, const ByteSink& sink) {
  TarWriter tar(sink);
  TRY(tar.open());

  TarExportStats stats;
  std::vector<std::string> first_path(tree.nodes.size());  // hard link groups: the path written with content
  for (size_t idx : tree.preorder()) {
    if (idx == Tree::kRoot) continue;
    const Node& n = tree.nodes[idx];
    std::string path = tree.path_of(idx).substr(1);  // "etc/passwd": relative, as layers are
    UniqueArchiveEntry e = new_archive_entry();
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
    TRY(tar.header(e.get(), path));
    ++stats.entries;
    if (!content) continue;
    uint64_t written = 0;
    TRY_CTX(read_blocks(n.blocks, store,
                [&](std::span<const uint8_t> chunk) -> Result<void> {
                  TRY(tar.data(chunk, path));
                  written += chunk.size();
                  return {};
                }),
        tree.path_of(idx));
    if (written != n.size)
      return fail(
          Errc::corrupt, tree.path_of(idx) + ": its blocks hold " + std::to_string(written) + " bytes, not " + std::to_string(n.size));
    stats.content_bytes += written;
  }
  TRY(tar.close());
  return stats;
}

}  // namespace tiffin
