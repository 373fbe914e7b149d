// tiffin rm [-f] [-v] CONTAINER…: every container is tried; the exit code is the last failure's.
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_rm(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> refs;
    bool force = false, volumes = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* rm = app.add_subcommand("rm", "Remove containers");
  rm->add_option("containers", o->refs)->required();
  rm->add_flag("-f,--force", o->force, "Kill a running container first");
  rm->add_flag("-v,--volumes", o->volumes, "Remove the anonymous volumes made for the image's Volumes too");
  rm->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      int failed = 0;
      for (const auto& r : o->refs) {
        if (auto done = e.remove(r, o->force, o->volumes); !done) {
          fmt::print(stderr, "tiffin: {}\n", done.error().message);
          failed = exit_code_for(done.error());
        } else {
          fmt::print("{}\n", r);
        }
      }
      return failed;
    });
  });
}

}  // namespace tiffin::cli
