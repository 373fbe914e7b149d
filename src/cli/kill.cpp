// tiffin kill [-s SIGNAL] CONTAINER…
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "runtime/container.hpp"

namespace tiffin::cli {

void add_kill(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> refs;
    std::string signal = "KILL";
  };
  auto o = std::make_shared<Opts>();
  CLI::App* kill = app.add_subcommand("kill", "Send a signal (default KILL) to containers");
  kill->add_option("containers", o->refs)->required();
  kill->add_option("-s,--signal", o->signal, "Signal name or number")->capture_default_str();
  kill->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      int sig = TRY(runtime::parse_signal(o->signal));
      auto e = TRY(ctx.open_engine());
      for (const auto& r : o->refs) {
        TRY(e.kill(r, sig));
        fmt::print("{}\n", r);
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
