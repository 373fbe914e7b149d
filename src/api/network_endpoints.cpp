// /networks/…: create, list, inspect, remove, connect, disconnect, prune.
#include "api/docker_view.hpp"
#include "api/engine_api.hpp"
#include "common/json_fields.hpp"
#include "net/address.hpp"

namespace tiffin::api {

using json = nlohmann::json;
namespace jf = tiffin::json_fields;

void add_network_endpoints(EngineApi& api) {
  api.route("GET", "/networks", [&api](Request&) -> Result<Response> {
    auto e = TRY(api.engine());
    json arr = json::array();
    for (const auto& n : TRY(e.networks())) arr.push_back(network_json(e, n, false));
    // docker's fixed networks, so clients that look for them find them.
    for (const char* name : {"host", "none"})
      arr.push_back({{"Name", name}, {"Id", name}, {"Driver", name}, {"Scope", "local"}, {"Internal", false}, {"Labels", json::object()}});
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
    TRY(e.remove_network(r.params["id"]));
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
