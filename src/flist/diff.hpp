// What changed between two flists, path by path (as `docker diff`: A added, D deleted, C changed).
#pragma once

#include <string>
#include <vector>

#include "flist/tree.hpp"

namespace tiffin {

struct Change {
  char kind;  // 'A', 'D' or 'C'
  std::string path;
  std::vector<std::string> what;  // for 'C': type, content, mode, owner, mtime, target, rdev, xattrs
};

// Every added or deleted node is listed, also those under an added or deleted directory.
std::vector<Change> diff(const Tree& a, const Tree& b);

}  // namespace tiffin
