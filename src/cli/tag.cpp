// tiffin tag SOURCE TARGET: another name for an image.
#include "cli/cli.hpp"

namespace tiffin::cli {

void add_tag(CLI::App& app, Context& ctx) {
  auto names = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* tag = app.add_subcommand("tag", "Give an image another name");
  tag->add_option("source", names->first, "An image: name[:tag] or id")->required();
  tag->add_option("target", names->second, "The new name[:tag]")->required();
  tag->callback([&ctx, names] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      TRY(e.tag_image(names->first, names->second));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
