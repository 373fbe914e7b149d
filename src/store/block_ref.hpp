// A block as an flist names it: where it is (id) and how to open it (key). Here rather than in
// flist/tree.hpp so that the store layer (BlockFetcher::fetch_many) can take it too.
#pragma once

#include "common/hash.hpp"

namespace tiffin {

struct BlockRef {
  Hash id{};
  Hash key{};
  bool operator==(const BlockRef&) const = default;
};

}  // namespace tiffin
