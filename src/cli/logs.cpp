// tiffin logs [-f] [--tail N] [-t] CONTAINER — from the container's local log (CRI format).
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <thread>

#include "cli/cli.hpp"
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
      std::string path = e.log_path(id);
      std::deque<shim::LogRecord> last;
      for (const auto& file : shim::log_files(path, 2)) {
        std::ifstream in(file);
        std::string line;
        while (std::getline(in, line)) {
          auto r = shim::parse_log_record(line);
          if (!r) continue;
          if (tail == SIZE_MAX) print_record(*r, o->timestamps);
          else {
            last.push_back(std::move(*r));
            if (last.size() > tail) last.pop_front();
          }
        }
      }
      for (const auto& r : last) print_record(r, o->timestamps);
      if (!o->follow) return 0;
      // Follow the current file (reopened when it rotates) while the container lives.
      std::ifstream in(path);
      in.seekg(0, std::ios::end);
      struct stat before {};
      ::stat(path.c_str(), &before);
      std::string partial;
      for (;;) {
        std::string line;
        bool got = false;
        while (std::getline(in, line)) {
          if (in.eof()) {  // no newline yet: a record being written
            partial += line;
            break;
          }
          got = true;
          auto r = shim::parse_log_record(partial + line);
          partial.clear();
          if (r) print_record(*r, o->timestamps);
        }
        in.clear();
        if (!got) {
          auto info = e.inspect(id);
          if (!info || (!is_active(info->state.status) && !info->shim_alive)) {
            // One more pass for the last lines written before the exit.
            while (std::getline(in, line))
              if (auto r = shim::parse_log_record(line)) print_record(*r, o->timestamps);
            return 0;
          }
          struct stat now {};
          if (::stat(path.c_str(), &now) == 0 && now.st_ino != before.st_ino) {
            in = std::ifstream(path);
            before = now;
            continue;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
  });
}

}  // namespace tiffin::cli
