// tiffin inspect CONTAINER…: docker-shaped JSON.
#include "cli/cli.hpp"
#include "cli/container_view.hpp"

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
        nlohmann::json j = container_json(info);
        j["NetworkSettings"] = network_settings_json(e, info);
        j["Mounts"] = mounts_json(e, info);
        arr.push_back(std::move(j));
      }
      print_json(arr);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
