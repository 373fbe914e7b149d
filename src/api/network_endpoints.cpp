// /networks/…: create, list, inspect, remove, connect, disconnect, prune.
#include "api/docker_view.hpp"
#include "api/engine_api.hpp"
#include "api/filters.hpp"
#include "common/json_fields.hpp"
#include "net/address.hpp"

namespace tiffin::api {

using json = nlohmann::json;
namespace jf = tiffin::json_fields;

namespace {

// docker's network filters: each key's values are alternatives, all keys must hold. name and id
// match a part (docker's are patterns), driver and scope the whole, label a key or key=value,
// type custom or builtin.
bool matches(const json& n, const std::vector<std::string>& pairs) {
  std::map<std::string, bool> keys;
  for (const auto& p : pairs) {
    size_t eq = p.find('=');
    std::string key = p.substr(0, eq), value = p.substr(eq + 1);
    std::string name = n.value("Name", ""), id = n.value("Id", "");
    bool builtin = name == "host" || name == "none" || name == "bridge";
    bool hit = false;
    if (key == "name") hit = name.find(value) != std::string::npos;
    else if (key == "id") hit = id.find(value) != std::string::npos;
    else if (key == "driver") hit = n.value("Driver", "") == value;
    else if (key == "scope") hit = n.value("Scope", "") == value;
    else if (key == "type") hit = (value == "builtin") == builtin && (value == "builtin" || value == "custom");
    else if (key == "label") {
      size_t leq = value.find('=');
      const json& labels = n.contains("Labels") ? n["Labels"] : json::object();
      std::string lk = value.substr(0, leq);
      hit = labels.contains(lk) && (leq == std::string::npos || labels[lk] == value.substr(leq + 1));
    }
    keys[key] = keys[key] || hit;
  }
  for (const auto& [key, hit] : keys)
    if (!hit) return false;
  return true;
}

}  // namespace

void add_network_endpoints(EngineApi& api) {
  api.route("GET", "/networks", [&api](Request& r) -> Result<Response> {
    auto pairs = TRY(filter_pairs(r.arg("filters")));
    for (const auto& p : pairs) {
      std::string key = p.substr(0, p.find('='));
      if (key != "name" && key != "id" && key != "driver" && key != "label" && key != "type" && key != "scope")
        return fail(Errc::invalid_input, "invalid filter '" + key + "'");
    }
    auto e = TRY(api.engine());
    json all = TRY(network_list_json(e));
    json arr = json::array();
    for (auto& n : all)
      if (matches(n, pairs)) arr.push_back(std::move(n));
    return json_response(200, arr);
  });

  api.route("GET", "/networks/{id}", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto n = e.network(r.params["id"]);
    if (!n && n.error().kind == Errc::not_found) return fail(Errc::not_found, "network " + r.params["id"] + " not found");
    return json_response(200, network_json(e, TRY(std::move(n)), true));
  });

  api.route("POST", "/networks/create", [&api](Request& r) -> Result<Response> {
    json body = TRY(body_object(r));
    engine::NetworkSpec spec;
    spec.name = TRY(jf::string(body, "Name", "network", true));
    std::string driver = TRY(jf::string(body, "Driver", "network"));
    if (!driver.empty()) spec.driver = driver;
    spec.internal = TRY(jf::boolean(body, "Internal", "network"));
    spec.ipv6 = TRY(jf::boolean(body, "EnableIPv6", "network"));
    spec.labels = TRY(jf::string_map(body, "Labels", "network"));
    if (const json* ipam = jf::field(body, "IPAM")) {
      if (const json* configs = jf::field(*ipam, "Config")) {
        if (!configs->is_array()) return jf::wrong("IPAM", "Config", "a list");
        for (const auto& c : *configs) {
          std::string subnet = TRY(jf::string(c, "Subnet", "IPAM config"));
          bool v6 = subnet.find(':') != std::string::npos;
          (v6 ? spec.subnet6 : spec.subnet) = subnet;
          (v6 ? spec.gateway6 : spec.gateway) = TRY(jf::string(c, "Gateway", "IPAM config"));
          if (!v6) spec.ip_range = TRY(jf::string(c, "IPRange", "IPAM config"));
        }
      }
    }
    auto e = TRY(api.engine());
    if (auto existing = e.network(spec.name); existing && existing->name == spec.name)
      return fail(Errc::conflict, "network with name " + spec.name + " already exists");
    auto n = TRY(e.create_network(spec));
    return json_response(201, json{{"Id", n.id}, {"Warning", ""}});
  });

  api.route("DELETE", "/networks/{id}", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    auto removed = e.remove_network(r.params["id"]);
    if (!removed && removed.error().kind == Errc::not_found) return fail(Errc::not_found, "network " + r.params["id"] + " not found");
    TRY(std::move(removed));
    return empty_response();
  });

  api.route("POST", "/networks/{id}/connect", [&api](Request& r) -> Result<Response> {
    json body = TRY(body_object(r));
    std::string container = TRY(jf::string(body, "Container", "connect", true));
    engine::EndpointRequest req;
    req.network = r.params["id"];
    if (const json* ep = jf::field(body, "EndpointConfig")) {
      req.aliases = TRY(jf::strings(*ep, "Aliases", "EndpointConfig"));
      req.mac = TRY(jf::string(*ep, "MacAddress", "EndpointConfig"));
      if (const json* ipam = jf::field(*ep, "IPAMConfig")) {
        std::string v4 = TRY(jf::string(*ipam, "IPv4Address", "IPAMConfig")), v6 = TRY(jf::string(*ipam, "IPv6Address", "IPAMConfig"));
        if (!v4.empty()) req.ip = TRY(net::IpAddress::parse(v4));
        if (!v6.empty()) req.ip6 = TRY(net::IpAddress::parse(v6));
      }
    }
    auto e = TRY(api.engine());
    TRY(e.connect(container, req));
    return empty_response(200);
  });

  api.route("POST", "/networks/{id}/disconnect", [&api](Request& r) -> Result<Response> {
    json body = TRY(body_object(r));
    std::string container = TRY(jf::string(body, "Container", "disconnect", true));
    auto e = TRY(api.engine());
    TRY(e.disconnect(container, r.params["id"]));
    return empty_response(200);
  });

  api.route("POST", "/networks/prune", [&api](Request&) -> Result<Response> {
    auto e = TRY(api.engine());
    return json_response(200, json{{"NetworksDeleted", TRY(e.prune_networks())}});
  });
}

}  // namespace tiffin::api
