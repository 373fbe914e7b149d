// tiffin wait CONTAINER…: waits for each to stop for good; prints its exit code.
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_wait(CLI::App& app, Context& ctx) {
  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* wait = app.add_subcommand("wait", "Wait for containers to stop; print their exit codes");
  wait->add_option("containers", *refs)->required();
  wait->callback([&ctx, refs] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& r : *refs) fmt::print("{}\n", TRY(e.wait(r)));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
