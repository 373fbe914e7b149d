#include "oci/oci_cli.hpp"
#include "runtime/container_state.hpp"

namespace tiffin::oci {

void add_state(CLI::App& app, Globals& g) {
  auto* id = &g.keep<std::string>();
  auto* cmd = app.add_subcommand("state", "print a container's state as JSON");
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id] {
    run_verb(g, [&]() -> Result<int> {
      auto r = TRY(runtime::container_state(g.rt, *id));
      std::printf("%s\n", runtime::oci_state_json(r.state, r.status, true).c_str());
      return 0;
    });
  });
}

}  // namespace tiffin::oci
