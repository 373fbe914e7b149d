#include "oci/oci_cli.hpp"

namespace tiffin::oci {

// Flags create and run share.
void add_create_flags(CLI::App* cmd, runtime::CreateOptions& o) {
  cmd->add_option("-b,--bundle", o.bundle, "the bundle directory (default: the current one)");
  cmd->add_option("--pid-file", o.pid_file, "write the init's pid here");
  cmd->add_option("--console-socket", o.console_socket, "unix socket that receives the terminal's master");
  cmd->add_flag("--no-pivot", o.no_pivot, "move the root and chroot instead of pivot_root");
  cmd->add_option("--preserve-fds", o.preserve_fds, "pass fds 3 .. 3+N-1 to the container");
  cmd->add_option(
      "--env-fd", o.env_fd, "tiffin: add the KEY=value entries of this sealed memfd to the process's environment, in memory only");
  cmd->add_flag("--no-new-keyring")->description("accepted: tiffin never makes a session keyring");
  cmd->add_option("id", o.id, "container id")->required();
}

void add_create(CLI::App& app, Globals& g) {
  auto* o = &g.keep<runtime::CreateOptions>();
  auto* cmd = app.add_subcommand("create", "create a container; `start` runs its program");
  add_create_flags(cmd, *o);
  cmd->callback([&g, o] {
    run_verb(g, [&]() -> Result<int> {
      TRY(runtime::create_container(g.rt, *o));
      return 0;
    });
  });
}

}  // namespace tiffin::oci
