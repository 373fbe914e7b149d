// tiffin import <dir|tar|.fl> [NAME] — into the local image store (tiffin-full: it packs).
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_import(CLI::App& app, Context& ctx) {
  struct ImportOpts {
    std::string source, name;
    ImageConfig config;
  };
  auto io = std::make_shared<ImportOpts>();
  CLI::App* imp = app.add_subcommand("import", "Pack a directory or tar archive (or add an .fl file) into the local image store");
  imp->add_option("source", io->source, "Directory or tar archive (tar, tar.gz, tar.xz, tar.zst)")->required();
  imp->add_option("name", io->name, "name[:tag] (none: an untagged image, shown by its id)");
  imp->add_option("--entrypoint", io->config.entrypoint, "Image entrypoint (repeat for each argument)");
  imp->add_option("--cmd", io->config.cmd, "Image command (repeat for each argument)");
  imp->add_option("--env", io->config.env, "Image environment KEY=value");
  imp->add_option("--workdir", io->config.workdir, "Image working directory");
  imp->add_option("--user", io->config.user, "Image user");
  imp->add_option("--expose", io->config.ports, "A port the image's program listens on: 80/tcp (what run -P publishes)");
  imp->callback([&ctx, io] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      auto info = TRY(e.import(io->source, io->name, io->config));
      fmt::print("{}\n", info.id);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
