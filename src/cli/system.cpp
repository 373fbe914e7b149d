// tiffin system prune [-a] [--volumes] | boot
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "cli/corex_notice.hpp"
#include "common/progress.hpp"

namespace tiffin::cli {

namespace {
BlockCollector block_collector = nullptr;
}

void set_block_collector(BlockCollector collector) { block_collector = collector; }

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
      for (const auto& name : TRY(e.prune_networks())) fmt::print("Deleted network: {}\n", name);
      if (block_collector) fmt::print("Total reclaimed space: {}\n", human_bytes(TRY(block_collector(e))));
      return 0;
    });
  });
  CLI::App* boot = system->add_subcommand("boot", "After a reboot: bridges, port rules, the resolver, and --restart containers");
  boot->callback([&ctx] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& line : TRY(e.boot())) fmt::print("{}\n", line);
      // --corex containers it started: each got a new token, known nowhere else.
      std::fflush(stdout);
      for (const auto& [id, token] : e.take_corex_tokens()) print_corex_notice(e, id, token);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
