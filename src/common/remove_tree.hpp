// Deleting a directory tree that may have had mounts in it (a container's rootfs, a layer): the
// one way tiffin deletes trees, because deleting through a mount would delete an image's or a
// volume's files. It refuses (Errc::conflict) when anything is mounted at or below the path,
// never follows symlinks, and does not cross into another filesystem found on the way.
#pragma once

#include <string>

#include "common/error.hpp"

namespace tiffin {

// A path that does not exist is not an error.
Result<void> remove_tree(const std::string& path);

}  // namespace tiffin
