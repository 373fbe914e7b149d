// tiffin system prune [-a] [--volumes]
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_system(CLI::App& app, Context& ctx) {
  CLI::App* system = app.add_subcommand("system", "Node-wide operations");
  system->require_subcommand(1);
  struct PruneOpts {
    bool all = false, volumes = false, force = false;
  };
  auto po = std::make_shared<PruneOpts>();
  CLI::App* prune = system->add_subcommand("prune", "Remove stopped containers and unused images");
  prune->add_flag("-a,--all", po->all, "Also unused images that have tags");
  prune->add_flag("--volumes", po->volumes, "Also unused volumes");
  prune->add_flag("-f,--force", po->force, "Accepted for docker's sake: tiffin never asks");
  prune->callback([&ctx, po] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& line : TRY(e.prune(po->all, po->volumes))) fmt::print("{}\n", line);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
