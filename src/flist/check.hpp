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
  std::vector<std::string> problems;  // "missing block <id> of /usr/bin/x"
  bool ok() const { return missing == 0 && corrupt == 0 && unreachable == 0; }
};

Result<CheckReport> check(const Tree& tree, BlockStore& store, unsigned threads, bool progress);

}  // namespace tiffin
