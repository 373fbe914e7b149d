// tiffin pause | unpause CONTAINER…: the freezer, through the container's shim.
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_pause(CLI::App& app, Context& ctx) {
  for (bool pausing : {true, false}) {
    auto refs = std::make_shared<std::vector<std::string>>();
    CLI::App* p = app.add_subcommand(pausing ? "pause" : "unpause", pausing ? "Freeze containers" : "Thaw containers");
    p->add_option("containers", *refs)->required();
    p->callback([&ctx, refs, pausing] {
      ctx.run([&]() -> Result<int> {
        auto e = TRY(ctx.open_engine());
        for (const auto& r : *refs) {
          TRY(e.pause(r, pausing));
          fmt::print("{}\n", r);
        }
        return 0;
      });
    });
  }
}

}  // namespace tiffin::cli
