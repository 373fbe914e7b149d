// The stores an flist's blocks are read from (the flist verbs' -s option).
#include "cli/cli.hpp"

namespace tiffin::cli {

Result<std::shared_ptr<Router>> stores_for(const Tree& tree, const std::vector<std::string>& specs) {
  if (!specs.empty()) return open_router(specs);
  if (tree.routes.empty()) return fail(Errc::invalid_input, "the flist has no routes; name a store with -s");
  return open_routes(tree.routes);
}

}  // namespace tiffin::cli
