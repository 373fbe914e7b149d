// tiffin run [flags] IMAGE [COMMAND…]: create, start, and (without -d) attach until it exits.
#include <fmt/core.h>

#include "cli/attach_client.hpp"
#include "cli/cli.hpp"
#include "cli/container_flags.hpp"

namespace tiffin::cli {

void add_run(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<ContainerFlags>();
  auto detach = std::make_shared<bool>(false);
  CLI::App* run = app.add_subcommand("run", "Run a command in a new container (image: name, .fl file, hub URL, directory or tar)");
  flags->add_to(run);
  run->add_flag("-d,--detach", *detach, "Run in the background and print the container's id");
  run->callback([&ctx, flags, detach] {
    ctx.run_container_verb([&]() -> Result<int> {
      auto config = TRY(flags->finish(ctx.command));
      auto e = TRY(ctx.open_engine());
      std::string id = TRY(e.create(config));
      if (*detach) {
        TRY(e.start(id));
        fmt::print("{}\n", id);
        return 0;
      }
      int code = TRY(start_attached(e, id, config.interactive, config.tty));
      // With --rm the shim has taken the container down already; what is left is its record.
      if (config.auto_remove) TRY(e.remove(id, true));
      return code;
    });
  });
}

}  // namespace tiffin::cli
