// tiffin ps | inspect | stop | kill | rm | wait | pause | unpause | top | stats
#include <fmt/core.h>
#include <unistd.h>

#include <ctime>
#include <thread>

#include "cli/cli.hpp"
#include "common/fd.hpp"
#include "common/progress.hpp"
#include "runtime/cgroup_stats.hpp"
#include "runtime/container.hpp"

namespace tiffin::cli {
namespace {

nlohmann::json info_json(const engine::ContainerInfo& c) {
  return {{"Id", c.id},
          {"Name", c.name},
          {"Image", c.image},
          {"ImageId", c.image_id},
          {"Created", c.created},
          {"State",
           {{"Status", c.state},
            {"Running", c.state == "running"},
            {"Paused", c.state == "paused"},
            {"Restarting", c.state == "restarting"},
            {"Pid", c.pid},
            {"ExitCode", c.exit_code},
            {"Error", c.error},
            {"StartedAt", c.started_at},
            {"FinishedAt", c.finished_at}}},
          {"RestartCount", c.restart_count},
          {"Config", engine::container_config_to_json(c.config)}};
}

std::string ago(int64_t t) {
  int64_t s = std::max<int64_t>(0, ::time(nullptr) - t);
  if (s < 60) return fmt::format("{} seconds ago", s);
  if (s < 3600) return fmt::format("{} minutes ago", s / 60);
  if (s < 86400) return fmt::format("{} hours ago", s / 3600);
  return fmt::format("{} days ago", s / 86400);
}

std::string status_text(const engine::ContainerInfo& c) {
  if (c.state == "exited") return fmt::format("Exited ({})", c.exit_code);
  if (c.state == "running") return "Up";
  if (c.state == "paused") return "Up (Paused)";
  if (c.state == "restarting") return fmt::format("Restarting ({})", c.exit_code);
  return "Created";
}

std::string command_text(const engine::ContainerInfo& c) {
  std::string out;
  for (const auto& a : c.config.entrypoint.value_or(std::vector<std::string>{})) out += (out.empty() ? "" : " ") + a;
  for (const auto& a : c.config.cmd) out += (out.empty() ? "" : " ") + a;
  if (out.size() > 20) out = out.substr(0, 19) + "…";
  return "\"" + out + "\"";
}

}  // namespace

void add_container_verbs(CLI::App& app) {
  struct PsOpts {
    bool all = false, quiet = false, no_trunc = false;
    std::vector<std::string> filters;
    std::string format;
  };
  auto ps = std::make_shared<PsOpts>();
  CLI::App* cmd = app.add_subcommand("ps", "List containers");
  cmd->add_flag("-a,--all", ps->all, "Show all containers (default: running ones)");
  cmd->add_flag("-q,--quiet", ps->quiet, "Only ids");
  cmd->add_flag("--no-trunc", ps->no_trunc, "Full ids");
  cmd->add_option("-f,--filter", ps->filters, "name=, id=, status=, ancestor=, exited=");
  cmd->add_option("--format", ps->format, "table or json");
  cmd->callback([ps] {
    run_verb([&]() -> Result<int> {
      engine::ContainerFilter f{ps->all, {}};
      for (const auto& kv : ps->filters) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) return fail(Errc::invalid_input, "filter '" + kv + "' is not key=value");
        std::string key = kv.substr(0, eq);
        if (key != "name" && key != "id" && key != "status" && key != "ancestor" && key != "exited")
          return fail(Errc::invalid_input, "unknown filter '" + key + "'");
        f.filters.emplace(key, kv.substr(eq + 1));
      }
      auto e = TRY(open_engine());
      auto list = TRY(e.list(f));
      if (want_json(ps->format)) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& c : list) arr.push_back(info_json(c));
        print_json(arr, -1);
        return 0;
      }
      if (ps->quiet) {
        for (const auto& c : list) fmt::print("{}\n", ps->no_trunc ? c.id : engine::short_id(c.id));
        return 0;
      }
      fmt::print("{:<14}{:<30}{:<24}{:<18}{:<22}{}\n", "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES");
      for (const auto& c : list) {
        std::string image = c.image.size() > 28 ? "…" + c.image.substr(c.image.size() - 27) : c.image;
        fmt::print("{:<14}{:<30}{:<24}{:<18}{:<22}{}\n", ps->no_trunc ? c.id : engine::short_id(c.id), image,
                   command_text(c), ago(c.created), status_text(c), c.name);
      }
      return 0;
    });
  });

  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = app.add_subcommand("inspect", "Show containers (JSON)");
  inspect->add_option("containers", *refs)->required();
  inspect->callback([refs] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : *refs) arr.push_back(info_json(TRY(e.inspect(r))));
      print_json(arr);
      return 0;
    });
  });

  struct StopOpts {
    std::vector<std::string> ids;
    int timeout = 10;
    std::string signal = "KILL";
    bool force = false;
  };
  auto so = std::make_shared<StopOpts>();
  CLI::App* stop = app.add_subcommand("stop", "Stop containers: SIGTERM, then SIGKILL after the timeout");
  stop->add_option("containers", so->ids)->required();
  stop->add_option("-t,--time", so->timeout, "Seconds to wait before killing")->capture_default_str();
  stop->callback([so] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      for (const auto& r : so->ids) {
        TRY(e.stop(r, std::chrono::seconds(so->timeout)));
        fmt::print("{}\n", r);
      }
      return 0;
    });
  });

  auto ko = std::make_shared<StopOpts>();
  CLI::App* kill = app.add_subcommand("kill", "Send a signal (default KILL) to containers");
  kill->add_option("containers", ko->ids)->required();
  kill->add_option("-s,--signal", ko->signal, "Signal name or number")->capture_default_str();
  kill->callback([ko] {
    run_verb([&]() -> Result<int> {
      int sig = TRY(runtime::parse_signal(ko->signal));
      auto e = TRY(open_engine());
      for (const auto& r : ko->ids) {
        TRY(e.kill(r, sig));
        fmt::print("{}\n", r);
      }
      return 0;
    });
  });

  auto rmo = std::make_shared<StopOpts>();
  CLI::App* rm = app.add_subcommand("rm", "Remove containers");
  rm->add_option("containers", rmo->ids)->required();
  rm->add_flag("-f,--force", rmo->force, "Kill a running container first");
  rm->callback([rmo] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      int failed = 0;
      for (const auto& r : rmo->ids) {
        if (auto done = e.remove(r, rmo->force); !done) {
          fmt::print(stderr, "tiffin: {}\n", done.error().message);
          failed = exit_code_for(done.error());
        } else {
          fmt::print("{}\n", r);
        }
      }
      return failed;
    });
  });

  auto wo = std::make_shared<std::vector<std::string>>();
  CLI::App* wait = app.add_subcommand("wait", "Wait for containers to stop; print their exit codes");
  wait->add_option("containers", *wo)->required();
  wait->callback([wo] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      for (const auto& r : *wo) fmt::print("{}\n", TRY(e.wait(r)));
      return 0;
    });
  });

  for (bool pausing : {true, false}) {
    auto po = std::make_shared<std::vector<std::string>>();
    CLI::App* p = app.add_subcommand(pausing ? "pause" : "unpause", pausing ? "Freeze containers" : "Thaw containers");
    p->add_option("containers", *po)->required();
    p->callback([po, pausing] {
      run_verb([&]() -> Result<int> {
        auto e = TRY(open_engine());
        for (const auto& r : *po) {
          std::string id = TRY(e.resolve_container(r));
          TRY(e.pause(id, pausing));
          fmt::print("{}\n", r);
        }
        return 0;
      });
    });
  }

  auto top_ref = std::make_shared<std::string>();
  CLI::App* top = app.add_subcommand("top", "The processes of a container");
  top->add_option("container", *top_ref)->required();
  top->callback([top_ref] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      std::string id = TRY(e.resolve_container(*top_ref));
      auto pids = TRY(runtime::container_pids({e.runtime_root(), false}, id));
      fmt::print("{:<10}{:<10}{}\n", "PID", "PPID", "CMD");
      for (pid_t pid : pids) {
        auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
        auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline", 4096);
        if (!stat || !cmdline) continue;
        std::string s(stat->begin(), stat->end());
        std::string rest = s.substr(s.rfind(')') + 2);
        int ppid = std::atoi(rest.substr(rest.find(' ') + 1).c_str());
        std::string cmd(cmdline->begin(), cmdline->end());
        for (auto& ch : cmd)
          if (ch == '\0') ch = ' ';
        while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
        fmt::print("{:<10}{:<10}{}\n", pid, ppid, cmd);
      }
      return 0;
    });
  });

  struct StatsOpts {
    std::vector<std::string> ids;
    bool no_stream = false;
    std::string format;
  };
  auto st = std::make_shared<StatsOpts>();
  CLI::App* stats = app.add_subcommand("stats", "Resource usage of running containers");
  stats->add_option("containers", st->ids);
  stats->add_flag("--no-stream", st->no_stream, "Print once and exit");
  stats->add_option("--format", st->format, "table or json");
  stats->callback([st] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      for (;;) {
        std::vector<engine::ContainerInfo> list;
        if (st->ids.empty()) list = TRY(e.list({false, {}}));
        else
          for (const auto& r : st->ids) list.push_back(TRY(e.inspect(r)));
        nlohmann::json arr = nlohmann::json::array();
        if (!want_json(st->format)) fmt::print("{:<14}{:<24}{:>12}{:>14}{:>14}{:>8}\n", "CONTAINER ID", "NAME", "CPU (s)", "MEM USAGE", "LIMIT", "PIDS");
        for (const auto& c : list) {
          auto rs = runtime::container_state({e.runtime_root(), false}, c.id);
          runtime::CgroupStats s;
          if (rs) s = runtime::read_cgroup_stats(rs->state.cgroup());
          if (want_json(st->format)) {
            arr.push_back({{"id", c.id}, {"name", c.name}, {"timestamp", ::time(nullptr)}, {"memory_usage", s.memory_usage},
                           {"memory_limit", s.memory_limit}, {"memory_cache", s.memory_cache}, {"cpu_usage", s.cpu_usage},
                           {"pids_current", s.pids_current}});
          } else {
            fmt::print("{:<14}{:<24}{:>12.3f}{:>14}{:>14}{:>8}\n", engine::short_id(c.id), c.name, s.cpu_usage / 1e9,
                       human_bytes(s.memory_usage), s.memory_limit ? human_bytes(s.memory_limit) : "-", s.pids_current);
          }
        }
        if (want_json(st->format)) print_json(arr, -1);
        if (st->no_stream) return 0;
        std::this_thread::sleep_for(std::chrono::seconds(2));
      }
    });
  });
}

}  // namespace tiffin::cli
