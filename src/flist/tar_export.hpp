// An flist's tree as a tar stream: what `tiffin save` and `tiffin push` make of an image (one
// layer holding the whole tree). pax format (long names, large files, xattrs as
// SCHILY.xattr), every reachable node in pre-order, a hard link group's first file with content
// and the others as links to it; file content is read, verified, through `store`.
#pragma once

#include <functional>
#include <span>

#include "flist/tar_writer.hpp"
#include "flist/tree.hpp"
#include "store/block_store.hpp"

namespace tiffin {

struct TarExportStats {
  uint64_t entries = 0, content_bytes = 0;
};

// A damaged file (Node::damaged) is an Errc::corrupt error: an image must not lose content quietly.
Result<TarExportStats> export_tar(const Tree& tree, BlockStore& store, const ByteSink& sink);

}  // namespace tiffin
