// tiffin diff CONTAINER: what the container changed in its image's tree (A added, C changed,
// D deleted), from its writable layer.
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_diff(CLI::App& app, Context& ctx) {
  auto ref = std::make_shared<std::string>();
  CLI::App* diff = app.add_subcommand("diff", "Changes to files in a container's filesystem");
  diff->add_option("container", *ref)->required();
  diff->callback([&ctx, ref] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& c : TRY(e.changes(*ref))) fmt::print("{} {}\n", "CAD"[static_cast<int>(c.kind)], c.path);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
