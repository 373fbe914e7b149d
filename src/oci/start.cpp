#include "oci/oci_cli.hpp"

namespace tiffin::oci {

void add_start(CLI::App& app, Globals& g) {
  auto* id = &g.keep<std::string>();
  auto* cmd = app.add_subcommand("start", "run the program of a created container");
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id] {
    run_verb(g, [&]() -> Result<int> {
      TRY(runtime::start_container(g.rt, *id));
      return 0;
    });
  });
}

}  // namespace tiffin::oci
