#include "cli/container_view.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace tiffin::cli {

nlohmann::json container_json(const engine::ContainerInfo& c) {
  using shim::ContainerStatus;
  const auto& s = c.state;
  nlohmann::json j = {{"Id", c.id}, {"Name", c.name}, {"Image", c.image}, {"ImageId", c.image_id}, {"Created", c.created},
      {"State", {{"Status", shim::status_name(s.status)},
                    {"Running", s.status == ContainerStatus::running || s.status == ContainerStatus::paused},
                    {"Paused", s.status == ContainerStatus::paused}, {"Restarting", s.status == ContainerStatus::restarting},
                    {"Pid", s.pid}, {"ExitCode", s.exit_code}, {"Error", s.error ? s.error->message : ""}, {"StartedAt", s.started_at},
                    {"FinishedAt", s.finished_at}}},
      {"RestartCount", s.restart_count}, {"Config", engine::container_config_to_json(c.config)}};
  if (!s.health.status.empty()) {
    nlohmann::json log = nlohmann::json::array();
    for (const auto& p : s.health.log) log.push_back({{"Start", p.start}, {"End", p.end}, {"ExitCode", p.exit_code}, {"Output", p.output}});
    j["State"]["Health"] = {{"Status", s.health.status}, {"FailingStreak", s.health.failing_streak}, {"Log", log}};
  }
  return j;
}

nlohmann::json mounts_json(engine::Engine& e, const engine::ContainerInfo& c) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& text : c.config.volumes) {
    auto v = engine::parse_volume_spec(text);
    if (!v) continue;
    nlohmann::json m = {{"Type", v->named() ? "volume" : "bind"}, {"Source", v->source}, {"Destination", v->target},
        {"Mode", v->read_only ? "ro" : ""}, {"RW", !v->read_only}, {"Propagation", v->named() ? "" : "rprivate"}};
    if (v->named()) {
      m["Name"] = v->source;
      m["Driver"] = "local";
      if (auto info = e.volume(v->source)) m["Source"] = info->mountpoint;
    }
    out.push_back(std::move(m));
  }
  return out;
}

nlohmann::json network_settings_json(engine::Engine& e, const engine::ContainerInfo& c) {
  nlohmann::json networks = nlohmann::json::object();
  std::map<std::string, engine::Network> known;
  for (const auto& ep : e.container_endpoints(c.id).value_or(std::vector<engine::Endpoint>{})) {
    auto n = e.network(ep.network_id);
    if (!n) continue;
    networks[ep.network_name] = {{"NetworkID", ep.network_id}, {"IPAddress", ep.ip.str()}, {"IPPrefixLen", n->subnet.prefix()},
        {"Gateway", n->gateway.str()}, {"MacAddress", ep.mac}, {"Aliases", ep.aliases}, {"GlobalIPv6Address", ep.ip6 ? ep.ip6->str() : ""},
        {"GlobalIPv6PrefixLen", ep.ip6 ? n->subnet6->prefix() : 0}, {"IPv6Gateway", ep.ip6 ? n->gateway6->str() : ""},
        {"InterfaceName", ep.ifname}, {"HostInterfaceName", ep.host_ifname}};
  }
  nlohmann::json ports = nlohmann::json::object();
  for (const auto& p : e.container_ports(c.id).value_or(std::vector<net::PublishedPort>{})) {
    std::string key = std::to_string(p.ctr_port) + "/" + net::proto_name(p.proto);
    if (!ports.contains(key)) ports[key] = nlohmann::json::array();
    ports[key].push_back({{"HostIp", p.host_ip ? p.host_ip->str() : "0.0.0.0"}, {"HostPort", std::to_string(p.host_port)}});
  }
  nlohmann::json out = {{"Networks", networks}, {"Ports", ports}};
  // docker's top-level fields: the first network's.
  if (!networks.empty()) {
    const auto& first = networks.begin().value();
    for (const char* k : {"IPAddress", "IPPrefixLen", "Gateway", "MacAddress"}) out[k] = first[k];
  }
  return out;
}

std::string time_ago(int64_t t) {
  int64_t s = std::max<int64_t>(0, ::time(nullptr) - t);
  if (s < 60) return fmt::format("{} seconds ago", s);
  if (s < 3600) return fmt::format("{} minutes ago", s / 60);
  if (s < 86400) return fmt::format("{} hours ago", s / 3600);
  return fmt::format("{} days ago", s / 86400);
}

std::string status_text(const engine::ContainerInfo& c) {
  switch (c.state.status) {
    case shim::ContainerStatus::exited: return fmt::format("Exited ({})", c.state.exit_code);
    case shim::ContainerStatus::running:
      if (c.state.health.status == "starting") return "Up (health: starting)";
      if (!c.state.health.status.empty()) return "Up (" + c.state.health.status + ")";
      return "Up";
    case shim::ContainerStatus::paused: return "Up (Paused)";
    case shim::ContainerStatus::restarting: return fmt::format("Restarting ({})", c.state.exit_code);
    case shim::ContainerStatus::created: return "Created";
  }
  return "Unknown";
}

std::string command_text(const engine::ContainerInfo& c) {
  std::string out;
  for (const auto& a : c.config.entrypoint.value_or(std::vector<std::string>{})) out += (out.empty() ? "" : " ") + a;
  for (const auto& a : c.config.cmd) out += (out.empty() ? "" : " ") + a;
  if (out.size() > 20) out = out.substr(0, 19) + "…";
  return "\"" + out + "\"";
}

}  // namespace tiffin::cli
