// tiffin serve [-H unix:///run/tiffin/docker.sock] [-H tcp://0.0.0.0:2376 --tlscacert … --tlscert … --tlskey …]
// The Docker Engine API over the same engine and state as the CLI (api/api_server.hpp).
#include <fmt/core.h>

#include "api/api_server.hpp"
#include "cli/cli.hpp"
#include "zos/zos_node.hpp"

namespace tiffin::cli {

void add_serve(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<api::ServeOptions>();
  CLI::App* serve = app.add_subcommand("serve", "Serve the Docker Engine API (docker CLI, docker-compose, SDKs) until SIGTERM");
  serve->add_option("-H,--host", o->hosts, "unix:///path (default unix:///run/tiffin/docker.sock), tcp://ip:port, fd:// (systemd)");
  serve->add_option("-G,--group", o->socket_group, "Group that may use the unix socket (mode 0660)");
  serve->add_option("--tlscacert", o->tls_ca, "TCP: CA whose certificates clients must present");
  serve->add_option("--tlscert", o->tls_cert, "TCP: the server's certificate (PEM)");
  serve->add_option("--tlskey", o->tls_key, "TCP: the server's key (PEM)");
  serve->add_flag("--insecure-tcp", o->insecure_tcp, "Allow TCP without TLS (anyone who reaches the port controls the node)");
  serve->add_option(
      "--zos", o->zos_hosts, "tcp://ip:port: the Zero-OS API alone (/zos/v1; every call signed by a user or with the admin token)");
  serve->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      o->engine = ctx.engine;
      if (!o->zos_hosts.empty()) {
        // Zero-OS workloads that stopped with the node (a reboot, a crash) run again: only the
        // node can decrypt their secrets, so only it can start them.
        auto node = zos::ZosNode::open(ctx.engine);
        auto restored = node ? node->restore() : Result<std::vector<std::string>>(std::unexpected(node.error()));
        if (!restored) fmt::print(stderr, "tiffin serve: restoring Zero-OS workloads: {}\n", restored.error().message);
        else
          for (const auto& line : *restored) fmt::print(stderr, "tiffin serve: {}\n", line);
      }
      TRY(api::serve(*o));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
