#include "oci/oci_cli.hpp"

namespace tiffin::oci {

void add_delete(CLI::App& app, Globals& g) {
  auto* id = &g.keep<std::string>();
  auto* force = &g.keep<bool>(false);
  auto* cmd = app.add_subcommand("delete", "remove a stopped container (and kill it first with --force)");
  cmd->alias("rm");
  cmd->add_flag("-f,--force", *force, "kill a running container first");
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id, force] {
    run_verb(g, [&]() -> Result<int> {
      TRY(runtime::delete_container(g.rt, *id, *force));
      return 0;
    });
  });
}

}  // namespace tiffin::oci
