// tiffin start [-a] [-i] CONTAINER…
#include <fmt/core.h>

#include "cli/attach_client.hpp"
#include "cli/cli.hpp"
#include "cli/corex_notice.hpp"

namespace tiffin::cli {

void add_start(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> refs;
    bool attach = false, interactive = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* start = app.add_subcommand("start", "Start stopped containers");
  start->add_option("containers", o->refs)->required();
  start->add_flag("-a,--attach", o->attach, "Attach to its output and return its exit code");
  start->add_flag("-i,--interactive", o->interactive, "Attach stdin");
  start->callback([&ctx, o] {
    ctx.run_container_verb([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& ref : o->refs) {
        if (o->attach) {
          auto info = TRY(e.inspect(ref));
          return start_attached(e, info.id, o->interactive, info.config.tty);
        }
        auto started = TRY(e.start(ref));
        fmt::print("{}\n", ref);
        std::fflush(stdout);
        print_corex_notice(e, ref, started.corex_token);
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
