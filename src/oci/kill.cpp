#include "oci/oci_cli.hpp"

namespace tiffin::oci {

void add_kill(CLI::App& app, Globals& g) {
  auto* id = &g.keep<std::string>();
  auto* sig = &g.keep<std::string>("SIGTERM");
  auto* all = &g.keep<bool>(false);
  auto* cmd = app.add_subcommand("kill", "send a signal (name or number, default SIGTERM) to the init");
  cmd->add_flag("-a,--all", *all, "signal every process of the container");
  cmd->add_option("id", *id, "container id")->required();
  cmd->add_option("signal", *sig, "signal");
  cmd->callback([&g, id, sig, all] {
    run_verb(g, [&]() -> Result<int> {
      int s = TRY(runtime::parse_signal(*sig));
      TRY(runtime::kill_container(g.rt, *id, s, *all));
      return 0;
    });
  });
}

}  // namespace tiffin::oci
