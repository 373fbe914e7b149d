// tiffin stats [--no-stream] [--format table|json] [CONTAINER…]: the record Zero-OS publishes.
#include <fmt/core.h>

#include <ctime>
#include <thread>

#include "cli/cli.hpp"
#include "common/progress.hpp"
#include "shim/stats_record.hpp"

namespace tiffin::cli {

void add_stats(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> refs;
    bool no_stream = false;
    std::string format;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* stats = app.add_subcommand("stats", "Resource usage of running containers");
  stats->add_option("containers", o->refs);
  stats->add_flag("--no-stream", o->no_stream, "Print once and exit");
  stats->add_option("--format", o->format, "table or json");
  stats->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (;;) {
        std::vector<engine::ContainerInfo> list;
        if (o->refs.empty()) list = TRY(e.list({false, {}}));
        else
          for (const auto& r : o->refs) list.push_back(TRY(e.inspect(r)));
        nlohmann::json arr = nlohmann::json::array();
        if (!want_json(o->format))
          fmt::print(
              "{:<14}{:<24}{:>12}{:>14}{:>14}{:>22}{:>8}\n", "CONTAINER ID", "NAME", "CPU (s)", "MEM USAGE", "LIMIT", "NET I/O", "PIDS");
        for (const auto& c : list) {
          runtime::CgroupStats s = TRY(e.stats(c.id));
          net::NetIo io = e.network_io(c);
          if (want_json(o->format)) {
            nlohmann::json j = nlohmann::json::parse(shim::stats_json(s, ::time(nullptr)));
            j["id"] = c.id;
            j["name"] = c.name;
            j["network"] = {{"rx_bytes", io.rx_bytes}, {"tx_bytes", io.tx_bytes}};
            arr.push_back(std::move(j));
          } else {
            fmt::print("{:<14}{:<24}{:>12.3f}{:>14}{:>14}{:>22}{:>8}\n", engine::short_id(c.id), c.name, s.cpu_usage / 1e9,
                human_bytes(s.memory_usage), s.memory_limit ? human_bytes(s.memory_limit) : "-",
                human_bytes(io.rx_bytes) + " / " + human_bytes(io.tx_bytes), s.pids_current);
          }
        }
        if (want_json(o->format)) print_json(arr, -1);
        if (o->no_stream) return 0;
        std::this_thread::sleep_for(std::chrono::seconds(2));
      }
    });
  });
}

}  // namespace tiffin::cli
