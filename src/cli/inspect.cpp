// tiffin inspect [-f FORMAT] CONTAINER…: the JSON the Engine API answers (api/docker_view), or a
// Go template run on it per container (api/docker_format).
#include <fmt/core.h>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"

namespace tiffin::cli {

void add_inspect(CLI::App& app, Context& ctx) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  CLI::App* inspect = app.add_subcommand("inspect", "Show containers (JSON)");
  inspect->add_option("containers", *refs)->required();
  inspect->add_option("-f,--format", *format, "json, or a Go template run on each container ({{.State.Pid}})");
  inspect->callback([&ctx, refs, format] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      std::vector<nlohmann::json> objects;
      for (const auto& r : *refs) {
        auto info = TRY(e.inspect(r));
        objects.push_back(api::inspect_json(e, info));
      }
      fmt::print("{}", TRY(api::format_inspect(*format, objects)));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
