// tiffin rmi [-f] IMAGE…
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_rmi(CLI::App& app, Context& ctx) {
  auto rmi_refs = std::make_shared<std::vector<std::string>>();
  auto rmi_force = std::make_shared<bool>(false);
  CLI::App* rmi = app.add_subcommand("rmi", "Remove images (tags; the image once untagged and unused)");
  rmi->add_option("images", *rmi_refs)->required();
  rmi->add_flag("-f,--force", *rmi_force, "Remove all tags of an image given by id");
  rmi->callback([&ctx, rmi_refs, rmi_force] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& r : *rmi_refs)
        for (const auto& line : TRY(e.remove_image(r, *rmi_force))) fmt::print("{}\n", line);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
