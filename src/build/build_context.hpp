// The build context: the directory COPY and ADD read, less what its .dockerignore leaves out,
// packed once per build into a tree whose blocks go to the node's store (so COPY is a
// metadata operation, and a file that did not change costs no new block). The Dockerfile and
// .dockerignore themselves are in it unless the .dockerignore names them (docker's rule).
#pragma once

#include <string>

#include "common/error.hpp"
#include "flist/tree.hpp"
#include "store/block_store.hpp"

namespace tiffin::build {

// `dir`'s tree with <dir>/.dockerignore applied (Errc::invalid_input for a bad pattern, naming
// its line).
Result<Tree> pack_context(const std::string& dir, BlockStore& store);

}  // namespace tiffin::build
