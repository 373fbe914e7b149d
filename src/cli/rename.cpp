// tiffin rename CONTAINER NEW_NAME
#include "cli/cli.hpp"

namespace tiffin::cli {

void add_rename(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* rename = app.add_subcommand("rename", "Rename a container");
  rename->add_option("container", args->first)->required();
  rename->add_option("name", args->second)->required();
  rename->callback([&ctx, args] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      TRY(e.rename(args->first, args->second));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
