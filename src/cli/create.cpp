// tiffin create [flags] IMAGE [COMMAND…]: a container ready to start.
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "cli/container_flags.hpp"

namespace tiffin::cli {

void add_create(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<ContainerFlags>();
  CLI::App* create = app.add_subcommand("create", "Create a container without starting it");
  flags->add_to(create);
  create->callback([&ctx, flags] {
    ctx.run_container_verb([&]() -> Result<int> {
      auto config = TRY(flags->finish(ctx.command));
      auto e = TRY(ctx.open_engine());
      fmt::print("{}\n", TRY(e.create(config)));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
