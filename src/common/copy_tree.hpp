// Copying a directory tree as it is — owners, modes (setuid bits too), times, extended
// attributes, hard links, symlinks, devices and fifos — from one open directory into another.
// Nothing is followed: symlinks are copied as links, every entry is opened relative to its
// parent's descriptor with O_NOFOLLOW, so a tree that changes under the copy (or a hostile
// image's links) cannot lead it elsewhere. Used to fill a new volume from an image (docker's
// copy-up).
#pragma once

#include "common/error.hpp"

namespace tiffin {

// Copies the entries of directory `from` into directory `to` (which should be empty: an entry
// that exists there is an error), and gives `to` the owner, mode and extended attributes of
// `from`.
Result<void> copy_tree(int from, int to);

// Whether directory `dir` has no entries (a sized volume's lost+found does not count).
Result<bool> directory_is_empty(const std::string& dir);

}  // namespace tiffin
