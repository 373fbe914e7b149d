// tiffin inspect CONTAINER…: the JSON the Engine API answers (api/docker_view).
#include "cli/cli.hpp"
#include "api/docker_view.hpp"

namespace tiffin::cli {

void add_inspect(CLI::App& app, Context& ctx) {
  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = app.add_subcommand("inspect", "Show containers (JSON)");
  inspect->add_option("containers", *refs)->required();
  inspect->callback([&ctx, refs] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : *refs) {
        auto info = TRY(e.inspect(r));
        arr.push_back(api::inspect_json(e, info));
      }
      print_json(arr);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
