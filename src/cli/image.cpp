// tiffin image inspect IMAGE…: docker's image document (Id, RepoTags, RepoDigests, Config …).
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"

namespace tiffin::cli {

namespace {

nlohmann::json docker_config(const ImageConfig& c) {
  auto as_set = [](const std::vector<std::string>& keys) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& k : keys) o[k] = nlohmann::json::object();
    return o;
  };
  nlohmann::json j = {{"Entrypoint", c.entrypoint.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.entrypoint)},
      {"Cmd", c.cmd.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.cmd)}, {"Env", c.env}, {"WorkingDir", c.workdir}, {"User", c.user},
      {"ExposedPorts", as_set(c.ports)}, {"Volumes", as_set(c.volumes)}, {"Labels", c.labels}, {"StopSignal", c.stop_signal}};
  if (!c.healthcheck.test.empty())
    j["Healthcheck"] = {{"Test", c.healthcheck.test}, {"Interval", c.healthcheck.interval_ns}, {"Timeout", c.healthcheck.timeout_ns},
        {"StartPeriod", c.healthcheck.start_period_ns}, {"Retries", c.healthcheck.retries}};
  if (c.healthcheck.start_interval_ns) j["Healthcheck"]["StartInterval"] = c.healthcheck.start_interval_ns;
  return j;
}

}  // namespace

void add_image(CLI::App& app, Context& ctx) {
  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* image = app.add_subcommand("image", "Images: inspect");
  image->require_subcommand(1);
  CLI::App* inspect = image->add_subcommand("inspect", "Show images as docker's image inspect does");
  inspect->add_option("images", *refs, "name[:tag] or id")->required();
  inspect->callback([&ctx, refs] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : *refs) {
        auto info = TRY(e.resolve_image(r, "never"));
        ImageConfig cfg = TRY(e.image_config(info));
        std::string digest = engine::image_digest(info);
        nlohmann::json repo_digests = nlohmann::json::array();
        if (!digest.empty()) {
          std::string name = info.source.substr(0, info.source.rfind('@'));
          size_t colon = name.rfind(':');
          if (colon != std::string::npos && name.find('/', colon) == std::string::npos) name.resize(colon);
          repo_digests.push_back(name + "@" + digest);
        }
        out.push_back({{"Id", "sha256:" + info.id}, {"RepoTags", info.tags}, {"RepoDigests", repo_digests}, {"Source", info.source},
            {"Created", info.created}, {"Size", info.size}, {"Os", "linux"}, {"Config", docker_config(cfg)}, {"Flist", info.flist}});
      }
      print_json(out, 2);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
