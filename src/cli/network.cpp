// tiffin network create | ls | inspect | rm | prune | connect | disconnect
#include <fmt/core.h>

#include <algorithm>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"

namespace tiffin::cli {

void add_network(CLI::App& app, Context& ctx) {
  CLI::App* network = app.add_subcommand("network", "Manage networks");
  network->require_subcommand(1);

  struct CreateOpts {
    engine::NetworkSpec spec;
    std::vector<std::string> subnets, gateways, labels;
  };
  auto co = std::make_shared<CreateOpts>();
  CLI::App* create = network->add_subcommand("create", "Create a network");
  create->add_option("name", co->spec.name)->required();
  create->add_option("-d,--driver", co->spec.driver, "Driver: bridge");
  create->add_option("--subnet", co->subnets, "Subnet in CIDR form; an IPv6 one too with --ipv6");
  create->add_option("--gateway", co->gateways, "Gateway for the subnet (and for the IPv6 one)");
  create->add_option("--ip-range", co->spec.ip_range, "Hand out addresses from this part of the subnet only");
  create->add_flag("--internal", co->spec.internal, "No way in or out: containers reach only each other");
  create->add_flag("--ipv6", co->spec.ipv6, "An IPv6 subnet too (a ULA /64 unless --subnet gives one)");
  create->add_option("--label", co->labels, "Label key=value");
  create->callback([&ctx, co] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      engine::NetworkSpec spec = co->spec;
      // docker takes --subnet/--gateway once per family.
      for (const auto& s : co->subnets) (s.find(':') == std::string::npos ? spec.subnet : spec.subnet6) = s;
      for (const auto& g : co->gateways) (g.find(':') == std::string::npos ? spec.gateway : spec.gateway6) = g;
      for (const auto& l : co->labels) {
        auto eq = l.find('=');
        spec.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
      }
      fmt::print("{}\n", TRY(e.create_network(spec)).id);
      return 0;
    });
  });

  auto ls_format = std::make_shared<std::string>();
  CLI::App* ls = network->add_subcommand("ls", "List networks");
  ls->alias("list");
  auto ls_no_trunc = std::make_shared<bool>(false);
  ls->add_option("--format", *ls_format,
      "table, json (docker's: a row's JSON object per line, as '{{json .}}'), a Go template ({{.Name}}) or 'table TEMPLATE' "
      "(docker's fields; host and none too)");
  ls->add_flag("--no-trunc", *ls_no_trunc, "Full ids in templates");
  ls->callback([&ctx, ls_format, ls_no_trunc] {
    ctx.run([&]() -> Result<int> {
      auto f = TRY(api::ListFormat::parse(*ls_format));
      auto e = TRY(ctx.open_engine());
      if (f.kind() != api::ListFormat::Kind::default_table) {
        // What the API lists (docker's host and none too), by name as docker's CLI has them.
        nlohmann::json all = TRY(api::network_list_json(e));
        std::vector<nlohmann::json> list(all.begin(), all.end());
        std::sort(list.begin(), list.end(),
            [](const auto& a, const auto& b) { return api::natural_less(a.value("Name", ""), b.value("Name", "")); });
        for (const auto& n : list) TRY(f.add(api::network_row(n, !*ls_no_trunc)));
        fmt::print("{}", f.finish(api::network_headers()));
        return 0;
      }
      fmt::print("{:<14}{:<20}{:<10}{:<20}{}\n", "NETWORK ID", "NAME", "DRIVER", "SUBNET", "BRIDGE");
      for (const auto& n : TRY(e.networks()))
        fmt::print("{:<14}{:<20}{:<10}{:<20}{}\n", n.id.substr(0, 12), n.name, n.driver, n.subnet.str(), n.bridge);
      return 0;
    });
  });

  auto names = std::make_shared<std::vector<std::string>>();
  auto inspect_format = std::make_shared<std::string>();
  CLI::App* inspect = network->add_subcommand("inspect", "Show networks and their containers (JSON)");
  inspect->add_option("networks", *names)->required();
  inspect->add_option("-f,--format", *inspect_format, "json, or a Go template run on each network ({{.IPAM.Config}})");
  inspect->callback([&ctx, names, inspect_format] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      std::vector<nlohmann::json> arr;
      for (const auto& n : *names) arr.push_back(api::network_json(e, TRY(e.network(n)), true));
      fmt::print("{}", TRY(api::format_inspect(*inspect_format, arr)));
      return 0;
    });
  });

  auto rm_names = std::make_shared<std::vector<std::string>>();
  CLI::App* rm = network->add_subcommand("rm", "Remove networks");
  rm->alias("remove");
  rm->add_option("networks", *rm_names)->required();
  rm->callback([&ctx, rm_names] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& n : *rm_names) {
        TRY(e.remove_network(n));
        fmt::print("{}\n", n);
      }
      return 0;
    });
  });

  CLI::App* prune = network->add_subcommand("prune", "Remove networks no container is on");
  auto prune_force = std::make_shared<bool>(false);
  prune->add_flag("-f,--force", *prune_force, "Accepted for docker's sake: tiffin never asks");
  prune->callback([&ctx] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      for (const auto& n : TRY(e.prune_networks())) fmt::print("Deleted network: {}\n", n);
      return 0;
    });
  });

  struct ConnectOpts {
    std::string network, container, ip, ip6;
    std::vector<std::string> aliases;
    bool force = false;
  };
  auto cn = std::make_shared<ConnectOpts>();
  CLI::App* connect = network->add_subcommand("connect", "Join a container to a network");
  connect->add_option("network", cn->network)->required();
  connect->add_option("container", cn->container)->required();
  connect->add_option("--ip", cn->ip, "IPv4 address");
  connect->add_option("--ip6", cn->ip6, "IPv6 address");
  connect->add_option("--alias", cn->aliases, "Another name for the container on this network");
  connect->callback([&ctx, cn] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      engine::EndpointRequest r{cn->network, {}, {}, "", cn->aliases};
      if (!cn->ip.empty()) r.ip = TRY(net::IpAddress::parse(cn->ip));
      if (!cn->ip6.empty()) r.ip6 = TRY(net::IpAddress::parse(cn->ip6));
      TRY(e.connect(cn->container, r));
      return 0;
    });
  });
  auto dc = std::make_shared<ConnectOpts>();
  CLI::App* disconnect = network->add_subcommand("disconnect", "Take a container off a network");
  disconnect->add_option("network", dc->network)->required();
  disconnect->add_option("container", dc->container)->required();
  disconnect->add_flag("-f,--force", dc->force, "Accepted for docker's sake");
  disconnect->callback([&ctx, dc] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      TRY(e.disconnect(dc->container, dc->network));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
