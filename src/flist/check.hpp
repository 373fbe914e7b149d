// Verifying that every block an flist needs is present and valid in its stores.
#pragma once

#include <string>
#include <vector>

#include "flist/tree.hpp"
#include "store/block_store.hpp"

namespace tiffin {

struct CheckReport {
  uint64_t blocks = 0;  // distinct blocks checked
  uint64_t missing = 0, corrupt = 0, unreachable = 0;
  uint64_t damaged = 0;               // files whose blocks do not cover their size (Node::damaged)
  std::vector<std::string> problems;  // "missing block <id> of /usr/bin/x", "damaged file /x: 10 bytes, 0 blocks"
  bool ok() const { return missing == 0 && corrupt == 0 && unreachable == 0 && damaged == 0; }
};

Result<CheckReport> check(const Tree& tree, BlockStore& store, unsigned threads, bool progress);

}  // namespace tiffin
