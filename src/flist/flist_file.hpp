// Reading and writing whole .fl files. The tables are exactly rfs's schema (docs/DESIGN.md §3.1),
// so rfs reads what tiffin writes and the other way round; tiffin's additions live in tables of
// their own (tiffin_xattr, tiffin_hardlink, tiffin_config, tiffin_signature) that rfs ignores and
// that a file holds only when it uses them. Changing an existing file: flist_edit.hpp.
#pragma once

#include <string>

#include "common/error.hpp"
#include "flist/tree.hpp"

namespace tiffin {

// Loads and validates a whole flist. Anything structurally wrong — not a database or a malformed
// one, missing tables, wrong column types, orphans or cycles in the inode graph, invalid names,
// bad block rows (not 32-byte blobs, on something not a regular file, of no inode), absurd sizes,
// symlinks without a target — is an Errc::invalid_input error naming the file and what is wrong
// (names escaped with printable()). What rfs accepts and is not dangerous opens: a regular file
// whose blocks do not cover its size is loaded as it is (Node::damaged), extra rows of no
// symlink are ignored.
Result<Tree> load_flist(const std::string& path);

// Writes `tree` to `path` atomically (temp file, fsync, rename). Inodes are numbered in
// pre-order from 1 (the root), children sorted by name.
Result<void> save_flist(const std::string& path, const Tree& tree);

}  // namespace tiffin
