// tiffin restart [-t SECONDS] CONTAINER…
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "cli/corex_notice.hpp"

namespace tiffin::cli {

void add_restart(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> refs;
    int timeout = 10;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* restart = app.add_subcommand("restart", "Restart containers");
  restart->add_option("containers", o->refs)->required();
  restart->add_option("-t,--time", o->timeout, "Seconds to wait for the stop before killing")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  restart->callback([&ctx, o] {
    ctx.run_container_verb([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& ref : o->refs) {
        TRY(e.stop(ref, std::chrono::seconds(o->timeout)));
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
