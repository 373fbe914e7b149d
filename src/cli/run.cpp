// tiffin run [flags] IMAGE [COMMAND…]: create, start, and (without -d) attach until it exits.
#include <fmt/core.h>

#include "cli/attach_client.hpp"
#include "cli/cli.hpp"
#include "cli/container_flags.hpp"
#include "cli/corex_notice.hpp"

namespace tiffin::cli {

void add_run(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<ContainerFlags>();
  auto detach = std::make_shared<bool>(false);
  auto hub = std::make_shared<std::string>();
  CLI::App* run = app.add_subcommand("run", "Run a command in a new container (image: name, .fl file, hub URL, directory or tar)");
  flags->add_to(run);
  run->add_flag("-d,--detach", *detach, "Run in the background and print the container's id");
  run->add_option("--hub", *hub,
      "http(s)://hub/<user>: the image is a registry reference that this hub converts (token: $TIFFIN_HUB_TOKEN); "
      "the container reads its files lazily from the hub");
  run->callback([&ctx, flags, detach, hub] {
    ctx.run_container_verb([&]() -> Result<int> {
      auto config = TRY(flags->finish(ctx.command));
      auto e = TRY(ctx.open_engine());
      if (!hub->empty()) {
        // The lean binary speaks no HTTP: tiffin-full asks the hub and pulls the flist; the
        // container then runs the stored image by its id.
        auto image = TRY(e.fetch_through_hub(*hub, config.image));
        config.image = image.id;
        config.pull = "never";  // just fetched
      }
      std::string id = TRY(e.create(config));
      if (config.corex) {
        // The address and the token first; in the foreground, coreX's own log after them.
        auto started = TRY(e.start(id, engine::StartOptions{!*detach, false, std::nullopt}));
        if (*detach) fmt::print("{}\n", id);
        std::fflush(stdout);
        print_corex_notice(e, id, started.corex_token);
        if (*detach) return 0;
        auto code = attach_session(*started.session, false, false);
        int exit_code = code ? *code : TRY(e.wait(id));
        if (config.auto_remove) TRY(e.remove(id, true));
        return exit_code;
      }
      if (*detach) {
        TRY(e.start(id));
        fmt::print("{}\n", id);
        if (config.public_ip6) {
          // SLAAC takes an advert from the router: a few seconds at most where one is there.
          auto addrs = TRY(e.public_ip6_of(id, std::chrono::seconds(10)));
          if (addrs.empty()) fmt::print(stderr, "tiffin: no public IPv6 address on pub yet (no router advert within 10 s)\n");
          for (const auto& a : addrs) fmt::print(stderr, "public IPv6: {}\n", a.str());
        }
        return 0;
      }
      int code = TRY(start_attached(e, id, config.interactive, config.tty));
      // With --rm the shim has taken the container down already; what is left is its record.
      if (config.auto_remove) TRY(e.remove(id, true));
      return code;
    });
  });
}

}  // namespace tiffin::cli
