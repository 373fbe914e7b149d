// tiffin port CONTAINER [PRIVATE_PORT[/PROTO]]
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "common/text.hpp"

namespace tiffin::cli {

void add_port(CLI::App& app, Context& ctx) {
  struct PortOpts {
    std::string container, filter;
  };
  auto po = std::make_shared<PortOpts>();
  CLI::App* cmd = app.add_subcommand("port", "List a container's published ports");
  cmd->add_option("container", po->container)->required();
  cmd->add_option("private_port", po->filter, "Only this container port: PORT[/tcp|/udp]");
  cmd->callback([&ctx, po] {
    ctx.run_container_verb([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      std::string id = TRY(e.resolve_container(po->container));
      std::optional<uint16_t> port;
      std::optional<net::Proto> proto;
      if (!po->filter.empty()) {
        auto slash = po->filter.find('/');
        port = parse_uint<uint16_t>(po->filter.substr(0, slash));
        if (!port) return fail(Errc::invalid_input, "invalid port '" + po->filter + "'");
        if (slash != std::string::npos) proto = TRY(net::parse_proto(po->filter.substr(slash + 1)));
      }
      bool any = false;
      for (const auto& p : TRY(e.container_ports(id))) {
        if ((port && p.ctr_port != *port) || (proto && p.proto != *proto)) continue;
        any = true;
        std::string host = p.host_ip ? (p.host_ip->is_v4() ? p.host_ip->str() : "[" + p.host_ip->str() + "]") : "0.0.0.0";
        if (port) fmt::print("{}:{}\n", host, p.host_port);
        else fmt::print("{}/{} -> {}:{}\n", p.ctr_port, net::proto_name(p.proto), host, p.host_port);
      }
      if (port && !any) return fail(Errc::not_found, "no public port '" + po->filter + "' published for " + po->container);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
