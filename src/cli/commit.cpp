// tiffin commit CONTAINER [NAME[:TAG]] — a new image of the container's image plus what it
// changed (tiffin-full: it packs). docker's --pause; --change instructions come with the
// Dockerfile parser of `tiffin build`.
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_commit(CLI::App& app, Context& ctx) {
  struct CommitArgs {
    std::string container, name;
    bool pause = true;
  };
  auto a = std::make_shared<CommitArgs>();
  CLI::App* cmd = app.add_subcommand("commit", "Make a new image from a container's changes");
  cmd->add_option("container", a->container, "Container name or id")->required();
  cmd->add_option("name", a->name, "name[:tag] (none: an untagged image, shown by its id)");
  cmd->add_flag("-p,--pause,!--no-pause", a->pause, "Pause a running container while its changes are read (default)");
  cmd->callback([&ctx, a] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      engine::CommitOptions o;
      o.tag = a->name;
      o.pause = a->pause;
      auto info = TRY(e.commit(a->container, o));
      fmt::print("sha256:{}\n", info.id);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
