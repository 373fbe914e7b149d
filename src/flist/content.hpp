// Reading what an flist holds: resolving paths (with symlinks followed inside the tree, never
// outside it), reading file content through the block stores, and the image config.
#pragma once

#include <functional>

#include "flist/tree.hpp"
#include "store/block_store.hpp"

namespace tiffin {

// Resolves `path` from the root. Symlinks in the middle are followed; the last one only when
// `follow_last`. Absolute targets resolve from the flist's root, ".." stops at it (as chroot).
Result<size_t> resolve(const Tree& tree, std::string_view path, bool follow_last);

// Fetches, verifies and decodes the blocks in order, handing each chunk of plain text to `sink`.
Result<void> read_blocks(
    const std::vector<BlockRef>& blocks, BlockStore& store, const std::function<Result<void>(std::span<const uint8_t>)>& sink);
// A file's content in memory; a damaged file (Node::damaged) is an Errc::corrupt error.
Result<Bytes> read_content(const Node& node, BlockStore& store, size_t max_size = size_t(64) << 20);

// The image config stored by tiffin; else the one in /.startup.toml (0-hub), read through `store`
// when one is given; else nullopt.
Result<std::optional<ImageConfig>> image_config(const Tree& tree, BlockStore* store);

}  // namespace tiffin
