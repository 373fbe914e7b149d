// tiffin stop [-t SECONDS] [-s SIGNAL] CONTAINER…
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "runtime/container.hpp"

namespace tiffin::cli {

void add_stop(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> refs;
    int timeout = 10;
    std::string signal;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* stop = app.add_subcommand("stop", "Stop containers: a signal (the container's stop signal, TERM), then KILL after the timeout");
  stop->add_option("containers", o->refs)->required();
  stop->add_option("-t,--time", o->timeout, "Seconds to wait before killing")->capture_default_str()->check(CLI::NonNegativeNumber);
  stop->add_option("-s,--signal", o->signal, "The signal to stop with (default: the container's --stop-signal or the image's, else TERM)");
  stop->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      int sig = o->signal.empty() ? 0 : TRY(runtime::parse_signal(o->signal));
      auto e = TRY(ctx.open_engine());
      for (const auto& r : o->refs) {
        TRY(e.stop(r, std::chrono::seconds(o->timeout), sig));
        fmt::print("{}\n", r);
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
