// tiffin logs [-f] [--tail N] [-t] CONTAINER — from the container's local log (CRI format).
#include <fmt/core.h>
#include <unistd.h>

#include "cli/cli.hpp"
#include "engine/container_logs.hpp"
#include "common/text.hpp"
#include "shim/log_file.hpp"

namespace tiffin::cli {
namespace {

void print_record(const shim::LogRecord& r, bool timestamps) {
  std::string line = (timestamps ? r.time + " " : "") + r.content + (r.partial ? "" : "\n");
  (void)write_all(r.stream == "stderr" ? 2 : 1, {reinterpret_cast<const uint8_t*>(line.data()), line.size()});
}

}  // namespace

void add_logs(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string ref, tail = "all";
    bool follow = false, timestamps = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* logs = app.add_subcommand("logs", "Show a container's output");
  logs->add_option("container", o->ref)->required();
  logs->add_flag("-f,--follow", o->follow, "Keep printing new output until the container stops");
  logs->add_option("-n,--tail", o->tail, "Lines from the end (or all)")->capture_default_str();
  logs->add_flag("-t,--timestamps", o->timestamps, "Show each line's time");
  logs->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      size_t tail = SIZE_MAX;
      if (o->tail != "all") {
        auto n = parse_uint<size_t>(o->tail);
        if (!n) return fail(Errc::invalid_input, "--tail must be a number or all");
        tail = *n;
      }
      auto e = TRY(ctx.open_engine());
      std::string id = TRY(e.resolve_container(o->ref));
      engine::LogOptions lo;
      lo.tail = tail;
      lo.follow = o->follow;
      TRY(engine::read_logs(e, id, lo, [&](const shim::LogRecord& r) {
        print_record(r, o->timestamps);
        return true;
      }));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
