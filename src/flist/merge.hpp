// Merging flists as image layers. By default later layers win (OCI): a file replaces, a
// directory over a directory merges, `.wh.<name>` deletes <name> from the layers below and
// `.wh..wh..opq` makes a directory opaque. With first_wins (0-flist's merge) the first layer is
// the top one. Routes are the union of all layers' routes; tags and config come from the top.
#pragma once

#include <vector>

#include "flist/tree.hpp"

namespace tiffin {

struct MergeOptions {
  bool first_wins = false;
};

Tree merge(const std::vector<Tree>& layers, const MergeOptions& opts);

}  // namespace tiffin
