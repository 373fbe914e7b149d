#include "oci/oci_cli.hpp"

namespace tiffin::oci {

void add_create_flags(CLI::App* cmd, runtime::CreateOptions& o);

void add_run(CLI::App& app, Globals& g) {
  auto* o = &g.keep<runtime::CreateOptions>();
  auto* detach = &g.keep<bool>(false);
  auto* cmd = app.add_subcommand("run", "create and start a container, wait for it, delete it");
  add_create_flags(cmd, *o);
  cmd->add_flag("-d,--detach", *detach, "return once the program runs");
  cmd->callback([&g, o, detach] { run_verb(g, [&] { return runtime::run_container(g.rt, *o, *detach); }); });
}

}  // namespace tiffin::oci
