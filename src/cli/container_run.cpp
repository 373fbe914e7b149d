// tiffin run | create | start | attach | restart
#include <fmt/core.h>
#include <unistd.h>

#include "cli/attach_client.hpp"
#include "cli/cli.hpp"
#include "cli/container_flags.hpp"

namespace tiffin::cli {
namespace {

// Attaches to the shim that waits for us, then reads its start answer; the session's result.
Result<int> attached_start(engine::Engine& e, const std::string& id, bool interactive, bool tty) {
  UniqueFd ready = TRY(e.launch_shim(id, true, false));
  UniqueFd sock = TRY(connect_attach(e.shim_dir(id) + "/attach.sock"));
  auto started = TRY(e.read_start_result(ready.get()));
  if (started.exit_code != 0) {
    fmt::print(stderr, "tiffin: {}\n", started.error);
    return started.exit_code;
  }
  auto code = attach_session(sock.get(), interactive, tty);
  if (!code) return e.wait(id);  // the shim went away mid-session: what it recorded
  return *code;
}

// docker: failures of the engine itself are 125, the program's own are its exit code.
void run_engine_verb(const std::function<Result<int>()>& body) {
  run_verb([&]() -> Result<int> {
    auto r = body();
    if (!r) {
      fmt::print(stderr, "tiffin: {}\n", r.error().message);
      return 125;
    }
    return *r;
  });
}

}  // namespace

void add_container_run(CLI::App& app) {
  auto flags = std::make_shared<ContainerFlags>();
  auto detach = std::make_shared<bool>(false);
  CLI::App* run = app.add_subcommand("run", "Run a command in a new container (image: name, .fl file, hub URL, directory or tar)");
  flags->add_to(run);
  run->add_flag("-d,--detach", *detach, "Run in the background and print the container's id");
  run->callback([flags, detach] {
    run_engine_verb([&]() -> Result<int> {
      auto config = TRY(flags->finish());
      auto e = TRY(open_engine());
      std::string id = TRY(e.create(config));
      if (*detach) {
        UniqueFd ready = TRY(e.launch_shim(id, false, config.auto_remove));
        auto started = TRY(e.read_start_result(ready.get()));
        if (started.exit_code != 0) {
          fmt::print(stderr, "tiffin: {}\n", started.error);
          return started.exit_code;
        }
        fmt::print("{}\n", id);
        return 0;
      }
      int code = TRY(attached_start(e, id, config.interactive, config.tty));
      if (config.auto_remove) TRY(e.remove(id, true));
      return code;
    });
  });

  auto cflags = std::make_shared<ContainerFlags>();
  CLI::App* create = app.add_subcommand("create", "Create a container without starting it");
  cflags->add_to(create);
  create->callback([cflags] {
    run_engine_verb([&]() -> Result<int> {
      auto config = TRY(cflags->finish());
      auto e = TRY(open_engine());
      fmt::print("{}\n", TRY(e.create(config)));
      return 0;
    });
  });

  struct StartOpts {
    std::vector<std::string> ids;
    bool attach = false, interactive = false;
  };
  auto so = std::make_shared<StartOpts>();
  CLI::App* start = app.add_subcommand("start", "Start stopped containers");
  start->add_option("containers", so->ids)->required();
  start->add_flag("-a,--attach", so->attach, "Attach to its output and return its exit code");
  start->add_flag("-i,--interactive", so->interactive, "Attach stdin");
  start->callback([so] {
    run_engine_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      for (const auto& ref : so->ids) {
        std::string id = TRY(e.resolve_container(ref));
        if (so->attach) {
          auto info = TRY(e.inspect(id));
          return attached_start(e, id, so->interactive, info.config.tty);
        }
        auto started = TRY(e.start(id));
        if (started.exit_code != 0) {
          fmt::print(stderr, "tiffin: {}\n", started.error);
          return started.exit_code;
        }
        fmt::print("{}\n", ref);
      }
      return 0;
    });
  });

  auto attach_ref = std::make_shared<std::string>();
  auto no_stdin = std::make_shared<bool>(false);
  CLI::App* attach = app.add_subcommand("attach", "Attach to a running container's output (and input)");
  attach->add_option("container", *attach_ref)->required();
  attach->add_flag("--no-stdin", *no_stdin, "Do not attach stdin");
  attach->callback([attach_ref, no_stdin] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      auto info = TRY(e.inspect(*attach_ref));
      if (info.state != "running") return fail(Errc::conflict, "you cannot attach to a stopped container, start it first");
      UniqueFd sock = TRY(connect_attach(e.shim_dir(info.id) + "/attach.sock"));
      auto code = attach_session(sock.get(), info.config.interactive && !*no_stdin, info.config.tty);
      if (!code) return e.wait(info.id);
      return *code;
    });
  });

  struct RestartOpts {
    std::vector<std::string> ids;
    int timeout = 10;
  };
  auto ro = std::make_shared<RestartOpts>();
  CLI::App* restart = app.add_subcommand("restart", "Restart containers");
  restart->add_option("containers", ro->ids)->required();
  restart->add_option("-t,--time", ro->timeout, "Seconds to wait for the stop before killing")->capture_default_str();
  restart->callback([ro] {
    run_verb([&]() -> Result<int> {
      auto e = TRY(open_engine());
      for (const auto& ref : ro->ids) {
        TRY(e.stop(ref, std::chrono::seconds(ro->timeout)));
        auto started = TRY(e.start(ref));
        if (started.exit_code != 0) return fail(Errc::io, started.error);
        fmt::print("{}\n", ref);
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
