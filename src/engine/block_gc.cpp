// The node's block store and its garbage collector: the lock writers hold and the pass that
// frees what no flist of the node names (engine.hpp: hold_blocks, free_unused_blocks).
#include <unistd.h>

#include "engine/engine.hpp"

namespace tiffin::engine {

Result<hub::GcLock> Engine::hold_blocks() { return hub::GcLock::shared(opts_.root); }

Result<hub::GcReport> Engine::free_unused_blocks() {
  if (::access((opts_.root + "/blocks").c_str(), F_OK) != 0) return hub::GcReport{};  // nothing was ever packed here
  hub::GcOptions o;
  o.grace = std::chrono::seconds(0);  // the writers' lock keeps what they are about to name
  o.layout = hub::GcOptions::Layout::node;
  return TRY_CTX(hub::collect_garbage(opts_.root, o), "freeing unused blocks");
}

}  // namespace tiffin::engine
