// Packing a directory tree or a tar stream into an flist whose blocks go to a store.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "flist/block_writer.hpp"
#include "flist/tree.hpp"

namespace tiffin {

struct PackOptions {
  unsigned threads = 0;                       // 0: one per core
  bool progress = true;                       // drawn only when stderr is a terminal
  std::vector<std::string>* notes = nullptr;  // things skipped (sockets), one line each
  // An OCI image layer applied over the tree's content (the layers below it): `.wh.<name>`
  // entries remove <name>, `.wh..wh..opq` hides what lower layers had in its directory, and
  // neither appears in the tree. Off: such names are ordinary files.
  bool oci_layer = false;
  // pack_directory of an overlayfs upper directory (a build step's changes), packed as an OCI
  // layer for merge(): a whiteout (a 0:0 character device) becomes `.wh.<name>`, a directory
  // marked opaque (trusted.overlay.opaque=y) gets `.wh..wh..opq`, overlayfs's own trusted.overlay.*
  // xattrs are dropped. Redirected or metacopy entries (content that lives in the lower layer)
  // are refused: tiffin's overlays are mounted without those features.
  bool overlay_upper = false;
  // pack_directory: entries to leave out (a build context's .dockerignore), by their path
  // relative to the directory ("src/main.c") and whether they are directories. A directory
  // left out is not walked.
  std::function<bool(const std::string& relative, bool is_dir)> exclude;
};

// `source` is a directory, or a tar / tar.gz / tar.xz / tar.zst file, or "-" for a tar on stdin.
// Fills `tree` (nodes and their blocks); the caller sets routes, tags and config and saves it.
Result<PackStats> pack(const std::string& source, BlockStore& store, Tree& tree, const PackOptions& opts);

Result<PackStats> pack_directory(const std::string& dir, BlockStore& store, Tree& tree, const PackOptions& opts);
// Reads a tar archive (any compression libarchive knows) from an open fd.
Result<PackStats> pack_tar(int fd, const std::string& name, BlockStore& store, Tree& tree, const PackOptions& opts);

// After layers removed files that others hard-linked to: every hard link group whose first
// file is gone gets a reachable file as its new first, so the tree saves as it reads.
void settle_hardlinks(Tree& tree);

}  // namespace tiffin
