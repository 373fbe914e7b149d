// tiffin image inspect IMAGE…: docker's image document (Id, RepoTags, RepoDigests, Config …).
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"

namespace tiffin::cli {

void add_image(CLI::App& app, Context& ctx) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  CLI::App* image = app.add_subcommand("image", "Images: inspect");
  image->require_subcommand(1);
  CLI::App* inspect = image->add_subcommand("inspect", "Show images as docker's image inspect does");
  inspect->add_option("images", *refs, "name[:tag] or id")->required();
  inspect->add_option("-f,--format", *format, "json, or a Go template run on each image ({{.Config.Cmd}})");
  inspect->callback([&ctx, refs, format] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      std::vector<nlohmann::json> out;
      for (const auto& r : *refs) {
        auto info = TRY(e.resolve_image(r, "never"));
        out.push_back(api::image_inspect_json(e, info));
      }
      fmt::print("{}", TRY(api::format_inspect(*format, out)));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
