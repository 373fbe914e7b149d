#include "oci/oci_cli.hpp"

namespace tiffin::oci {

void add_pause_resume(CLI::App& app, Globals& g) {
  for (bool pause : {true, false}) {
    auto* id = &g.keep<std::string>();
    auto* cmd = app.add_subcommand(pause ? "pause" : "resume", pause ? "freeze every process" : "thaw a paused container");
    cmd->add_option("id", *id, "container id")->required();
    cmd->callback([&g, id, pause] {
      run_verb(g, [&]() -> Result<int> {
        TRY(pause ? runtime::pause_container(g.rt, *id) : runtime::resume_container(g.rt, *id));
        return 0;
      });
    });
  }
}

}  // namespace tiffin::oci
