// tiffin flake register|list|info|remove: host commands that run in a container or a microVM
// (flake/flake_registry.hpp; the launcher is tiffin-pilot).
#include <fmt/core.h>

#include <cstdlib>

#include "cli/cli.hpp"
#include "common/subprocess.hpp"
#include "flake/flake_launch.hpp"
#include "flake/flake_registry.hpp"

namespace tiffin::cli {
namespace {

nlohmann::json flake_json(const std::string& name, const flake::FlakeConfig& c) {
  return {{"name", name}, {"engine", c.vm ? "vm" : "container"}, {"app", c.host_app_path}, {"target", c.target()}, {"image", c.image},
      {"image_id", c.engine_image}, {"base", c.base_container}, {"layers", c.layers}, {"resume", c.resume}, {"attach", c.attach},
      {"user", c.user}, {"home", c.home}, {"options", c.run_options}, {"include_tar", c.include_tars}, {"include_path", c.include_paths}};
}

}  // namespace

void add_flake(CLI::App& app, Context& ctx) {
  auto places = std::make_shared<flake::FlakePlaces>();
  if (const char* dir = std::getenv("TIFFIN_FLAKES_DIR"); dir && *dir) places->flakes_dir = dir;
  places->pilot = beside_self("tiffin-pilot");
  places->vm_init = beside_self("tiffin-vminit");
  CLI::App* flake = app.add_subcommand("flake", "Host commands that run in a container or a microVM (flake-pilot's flakes)");
  flake->require_subcommand(1);
  flake->add_option("--flakes-dir", places->flakes_dir, "Where registrations live ($TIFFIN_FLAKES_DIR)")->capture_default_str();

  auto r = std::make_shared<flake::RegisterRequest>();
  CLI::App* reg = flake->add_subcommand("register", "Register --app /usr/bin/NAME to run IMAGE's program");
  reg->add_option("--app", r->app, "The command on the host (a symlink to tiffin-pilot)")->required();
  reg->add_option("--image,--container", r->image, "The image (name, id, .fl, hub URL, registry reference)")->required();
  reg->add_option("--target", r->target, "The program in the image (default: the --app path)");
  reg->add_option("--base", r->base, "The base image the image is a delta on (merged, nothing copied)");
  reg->add_option("--layer", r->layers, "More layers over the base, bottom first");
  reg->add_option("--include,--include-tar,--include-path", r->includes,
      "A tar (unpacked at /) or a file or directory (at its own path) copied into each new container");
  reg->add_flag("--resume", r->resume, "Keep one container; later calls run in it");
  reg->add_flag("--attach", r->attach, "Keep one container running the app; later calls attach to it");
  reg->add_option("--user,--run-as", r->user, "The app's user inside: name|uid[:group|gid]");
  reg->add_flag("--home", r->home, "The caller's home directory is visible inside ($HOME)");
  reg->add_option("--opt", r->run_options, "A `run` flag for the flake's containers (\"--memory 512m\"), repeatable");
  reg->add_flag("--vm", r->vm, "Run in a qemu/KVM microVM instead of a container");
  reg->add_option("--kernel", r->kernel, "The microVM's kernel (default: the host's newest in /boot)");
  reg->add_option("--memory", r->memory_mib, "The microVM's memory in MiB (default 256)");
  reg->add_option("--cpus", r->cpus, "The microVM's CPUs (default 1)");
  reg->add_option(
      "--accel", r->accel, "The microVM's accelerator: kvm or tcg (emulation); default: kvm where VT-x/AMD-V back it, else tcg");
  reg->callback([&ctx, places, r] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      auto c = TRY(flake::register_flake(e, *places, *r));
      fmt::print("{} -> {} ({} {})\n", c.host_app_path, places->pilot, c.vm ? "microVM" : "container", c.engine_image.substr(0, 12));
      return 0;
    });
  });

  auto format = std::make_shared<std::string>();
  CLI::App* list = flake->add_subcommand("list", "The registered flakes");
  list->alias("ls");
  list->add_option("--format", *format, "json: one array of objects");
  list->callback([&ctx, places, format] {
    ctx.run([&]() -> Result<int> {
      auto entries = TRY(flake::list_flakes(places->flakes_dir));
      if (*format == "json") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& f : entries)
          out.push_back(f.config ? flake_json(f.name, *f.config) : nlohmann::json{{"name", f.name}, {"error", f.config.error().what()}});
        fmt::print("{}\n", out.dump(2));
        return 0;
      }
      if (!format->empty()) return fail(Errc::invalid_input, "--format: json or nothing");
      fmt::print("{:<16} {:<9} {:<28} {:<8} {}\n", "NAME", "ENGINE", "IMAGE", "MODE", "APP");
      for (const auto& f : entries) {
        if (!f.config) {
          fmt::print("{:<16} error: {}\n", f.name, f.config.error().what());
          continue;
        }
        const auto& c = *f.config;
        std::string image = c.image + (c.base_container.empty() ? "" : " on " + c.base_container);
        fmt::print("{:<16} {:<9} {:<28} {:<8} {}\n", f.name, c.vm ? "vm" : "container", image,
            c.resume   ? "resume"
            : c.attach ? "attach"
                       : "once",
            c.host_app_path);
      }
      return 0;
    });
  });

  auto name = std::make_shared<std::string>();
  CLI::App* info = flake->add_subcommand("info", "A flake's registration, as its YAML files merge");
  info->add_option("name", *name, "NAME or /usr/bin/NAME")->required();
  info->callback([&ctx, places, name] {
    ctx.run([&]() -> Result<int> {
      std::string n = TRY(flake::flake_name(*name));
      auto c = TRY(flake::load_flake(places->flakes_dir, n));
      fmt::print("{}", flake::flake_yaml(c));
      return 0;
    });
  });

  auto app_path = std::make_shared<std::string>();
  auto with_image = std::make_shared<bool>(false);
  CLI::App* rm = flake->add_subcommand("remove", "Unregister a flake: its command, YAML and containers");
  rm->alias("rm");
  rm->add_option("--app", *app_path, "The command (/usr/bin/NAME)")->required();
  rm->add_flag("--with-image,--container", *with_image, "Remove its image too");
  rm->callback([&ctx, places, app_path, with_image] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      TRY(flake::remove_flake(e, *places, *app_path, *with_image));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
