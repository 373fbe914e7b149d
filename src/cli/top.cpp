// tiffin top CONTAINER: its processes.
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_top(CLI::App& app, Context& ctx) {
  auto ref = std::make_shared<std::string>();
  CLI::App* top = app.add_subcommand("top", "The processes of a container");
  top->add_option("container", *ref)->required();
  top->callback([&ctx, ref] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      auto rows = TRY(e.top(*ref));
      fmt::print("{:<10}{:<10}{}\n", "PID", "PPID", "CMD");
      for (const auto& r : rows) fmt::print("{:<10}{:<10}{}\n", r.pid, r.ppid, r.command);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
