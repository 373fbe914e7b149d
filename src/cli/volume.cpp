// tiffin volume create | ls | inspect | rm
#include <fmt/core.h>

#include <algorithm>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"

namespace tiffin::cli {

void add_volume(CLI::App& app, Context& ctx) {
  CLI::App* volume = app.add_subcommand("volume", "Manage named volumes");
  volume->require_subcommand(1);
  struct VolOpts {
    std::vector<std::string> names;
    uint64_t size = 0;
    bool force = false;
    std::string format;
  };
  auto vo = std::make_shared<VolOpts>();
  CLI::App* vcreate = volume->add_subcommand("create", "Create a volume");
  vcreate->add_option("name", vo->names)->required()->expected(1);
  vcreate->add_option("--size", vo->size, "Size limit in MiB (an ext4 image of its own)");
  vcreate->callback([&ctx, vo] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      fmt::print("{}\n", TRY(e.create_volume(vo->names.at(0), vo->size)).name);
      return 0;
    });
  });
  auto vls_format = std::make_shared<std::string>();
  CLI::App* vls = volume->add_subcommand("ls", "List volumes");
  vls->add_option("--format", *vls_format,
      "table, json (docker's: a row's JSON object per line, as '{{json .}}'), a Go template ({{.Name}}) or 'table TEMPLATE' "
      "(docker's fields)");
  vls->callback([&ctx, vls_format] {
    ctx.run([&]() -> Result<int> {
      auto f = TRY(api::ListFormat::parse(*vls_format));
      auto e = TRY(ctx.open_engine());
      auto list = TRY(e.volumes());
      if (f.kind() != api::ListFormat::Kind::default_table) {
        // docker's CLI lists them by name.
        std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return api::natural_less(a.name, b.name); });
        for (const auto& v : list) TRY(f.add(api::volume_row(v)));
        fmt::print("{}", f.finish(api::volume_headers()));
        return 0;
      }
      fmt::print("{:<30}{:<12}{}\n", "VOLUME NAME", "SIZE (MiB)", "MOUNTPOINT");
      for (const auto& v : list) fmt::print("{:<30}{:<12}{}\n", v.name, v.size_mib ? std::to_string(v.size_mib) : "-", v.mountpoint);
      return 0;
    });
  });
  auto vin = std::make_shared<std::vector<std::string>>();
  auto vin_format = std::make_shared<std::string>();
  CLI::App* vinspect = volume->add_subcommand("inspect", "Show volumes (JSON)");
  vinspect->add_option("names", *vin)->required();
  vinspect->add_option("-f,--format", *vin_format, "json, or a Go template run on each volume ({{.Mountpoint}})");
  vinspect->callback([&ctx, vin, vin_format] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      std::vector<nlohmann::json> arr;
      for (const auto& n : *vin) {
        auto v = TRY(e.volume(n));
        arr.push_back(api::volume_json(v));
      }
      fmt::print("{}", TRY(api::format_inspect(*vin_format, arr)));
      return 0;
    });
  });
  auto vrm = std::make_shared<VolOpts>();
  CLI::App* vremove = volume->add_subcommand("rm", "Remove volumes and their data");
  vremove->add_option("names", vrm->names)->required();
  vremove->add_flag("-f,--force", vrm->force, "Also when a container refers to it");
  vremove->callback([&ctx, vrm] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& n : vrm->names) {
        TRY(e.remove_volume(n, vrm->force));
        fmt::print("{}\n", n);
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
