// tiffin network create | ls | inspect | rm | prune | connect | disconnect, and for Zero-OS
// networks update | keygen
#include <fmt/core.h>

#include <algorithm>
#include <ctime>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"

namespace tiffin::cli {
namespace {

ZosNetworkCodec zos_codec;

Result<void> need_codec(const void* fn) {
  if (!fn) return fail(Errc::unsupported, "Zero-OS networks' keys are read by tiffin-full: run this verb with tiffin-full");
  return {};
}

// What `network inspect` adds for a Zero-OS network: the resource, and WireGuard's own view of
// its peers (last handshake, bytes). The private key is never shown.
nlohmann::json zos_json(const engine::Engine::ZosNetworkView& v) {
  const auto& s = v.record.spec;
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& p : s.peers) {
    nlohmann::json j = {{"subnet", p.subnet.str()}, {"wg_public_key", p.public_key_b64}, {"endpoint", p.endpoint ? p.endpoint->str() : ""},
        {"allowed_ips", nlohmann::json::array()}};
    for (const auto& a : p.allowed_ips) j["allowed_ips"].push_back(a.str());
    if (v.wg)
      for (const auto& st : v.wg->peers)
        if (st.public_key == p.public_key) {
          j["last_handshake"] = st.last_handshake_sec;  // unix seconds; 0: never
          j["rx_bytes"] = st.rx_bytes;
          j["tx_bytes"] = st.tx_bytes;
          if (st.endpoint) j["current_endpoint"] = st.endpoint->str();  // where it was last heard from
        }
    peers.push_back(std::move(j));
  }
  nlohmann::json out = {{"net_id", s.net_id}, {"ip_range", s.ip_range.str()}, {"subnet", s.subnet.str()},
      {"wg_public_key", s.public_key_b64}, {"wg_listen_port", s.listen_port}, {"wg_interface", v.wg_ifname},
      {"wg_address", v.wg_address.str()}, {"ndmz_address", v.record.ndmz_ip.str()}, {"peers", peers}};
  out["wg_state"] = v.wg ? "up" : "down: " + v.wg_problem;
  return out;
}

}  // namespace

void set_zos_network_codec(const ZosNetworkCodec& codec) { zos_codec = codec; }

void add_network(CLI::App& app, Context& ctx) {
  CLI::App* network = app.add_subcommand("network", "Manage networks");
  network->require_subcommand(1);

  struct CreateOpts {
    engine::NetworkSpec spec;
    std::vector<std::string> subnets, gateways, labels;
    ZosNetworkArgs zos;
  };
  auto co = std::make_shared<CreateOpts>();
  CLI::App* create = network->add_subcommand("create", "Create a network (bridge, or a Zero-OS network resource: --driver zos)");
  create->add_option("name", co->spec.name, "The network's name (with --config: the file's unless given)");
  create->add_option(
      "-d,--driver", co->spec.driver, "Driver: bridge, or zos (this node's /24 of a /16 meshed with its peers over WireGuard)");
  create->add_option("--subnet", co->subnets, "Subnet in CIDR form; an IPv6 one too with --ipv6 (zos: this node's /24)")
      ->allow_extra_args(false);
  create->add_option("--gateway", co->gateways, "Gateway for the subnet (and for the IPv6 one)")->allow_extra_args(false);
  create->add_option("--ip-range", co->spec.ip_range, "Hand out addresses from this part of the subnet only (zos: the network's /16)");
  create->add_option("--config", co->zos.config, "zos: a Zero-OS NetResource JSON file (name, net_id, ip_range, subnet, wg_*, peers)");
  create->add_option("--net-id", co->zos.net_id, "zos: the network's id, the same on all its nodes (default: the name)");
  create->add_option("--wg-private-key-file", co->zos.private_key_file,
      "zos: a file with this node's WireGuard private key (base64; tiffin network keygen), or - for standard input");
  create->add_option("--wg-private-key", co->zos.private_key, "zos: the key itself (visible to every local user in ps: prefer the file)");
  create->add_option("--wg-listen-port", co->zos.listen_port, "zos: WireGuard's UDP port on this node");
  create
      ->add_option("--peer", co->zos.peers, "zos: 'pubkey=KEY,subnet=10.20.4.0/24[,allowed-ips=CIDR[,CIDR…]][,endpoint=IP:PORT]' (repeat)")
      ->allow_extra_args(false);
  create->add_flag("--internal", co->spec.internal, "No way in or out: containers reach only each other");
  create->add_flag("--ipv6", co->spec.ipv6, "An IPv6 subnet too (a ULA /64 unless --subnet gives one)");
  create->add_option("--label", co->labels, "Label key=value")->allow_extra_args(false);
  create->callback([&ctx, co] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      if (co->spec.driver == "zos" || !co->zos.config.empty()) {
        TRY(need_codec(reinterpret_cast<const void*>(zos_codec.read_spec)));
        ZosNetworkArgs a = co->zos;
        a.name = co->spec.name;
        a.ip_range = co->spec.ip_range;
        if (co->subnets.size() > 1 || !co->gateways.empty() || co->spec.ipv6 || co->spec.internal || !co->labels.empty())
          return fail(
              Errc::invalid_input, "--driver zos takes one --subnet (the node's /24), --ip-range (the /16), --wg-*, --peer, --config");
        if (!co->subnets.empty()) a.subnet = co->subnets.front();
        fmt::print("{}\n", TRY(e.create_zos_network(TRY(zos_codec.read_spec(a)))).id);
        return 0;
      }
      if (!co->zos.peers.empty() || !co->zos.private_key.empty() || !co->zos.private_key_file.empty() || co->zos.listen_port >= 0 ||
          !co->zos.net_id.empty())
        return fail(Errc::invalid_input, "--peer, --wg-* and --net-id are for --driver zos");
      if (co->spec.name.empty()) return fail(Errc::invalid_input, "network create: a name is required");
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
      for (const auto& n : *names) {
        engine::Network net = TRY(e.network(n));
        arr.push_back(api::network_json(e, net, true));
        if (net.driver == "zos") arr.back()["Zos"] = zos_json(TRY(e.zos_network(net)));
      }
      fmt::print("{}", TRY(api::format_inspect(*inspect_format, arr)));
      return 0;
    });
  });

  auto up = std::make_shared<ZosNetworkArgs>();
  CLI::App* update = network->add_subcommand("update", "Replace the peers of a Zero-OS network (containers and live sessions stay)");
  update->add_option("name", up->name, "The network")->required();
  update->add_option("--peer", up->peers, "A peer, as for create (repeat; none: no peers)")->allow_extra_args(false);
  update->add_option("--config", up->config, "Take the peers of this NetResource JSON file");
  update->callback([&ctx, up] {
    ctx.run([&]() -> Result<int> {
      TRY(need_codec(reinterpret_cast<const void*>(zos_codec.read_peers)));
      auto peers = TRY(zos_codec.read_peers(*up));
      auto e = TRY(ctx.open_engine());
      TRY(e.update_zos_network(up->name, peers));
      fmt::print("{}\n", up->name);
      return 0;
    });
  });

  CLI::App* keygen = network->add_subcommand("keygen", "Make a WireGuard key pair for a Zero-OS network (private key, then public key)");
  keygen->callback([&ctx] {
    ctx.run([&]() -> Result<int> {
      TRY(need_codec(reinterpret_cast<const void*>(zos_codec.keygen)));
      auto [priv, pub] = TRY(zos_codec.keygen());
      fmt::print("private_key: {}\npublic_key: {}\n", priv, pub);
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
