// /volumes/…: create, list, inspect, remove, prune.
#include "api/docker_view.hpp"
#include "api/engine_api.hpp"
#include "common/json_fields.hpp"
#include "common/text.hpp"

namespace tiffin::api {

using json = nlohmann::json;
namespace jf = tiffin::json_fields;

void add_volume_endpoints(EngineApi& api) {
  api.route("GET", "/volumes", [&api](Request&) -> Result<Response> {
    auto e = TRY(api.engine());
    json arr = json::array();
    for (const auto& v : TRY(e.volumes())) arr.push_back(volume_json(v));
    return json_response(200, json{{"Volumes", arr}, {"Warnings", json::array()}});
  });

  api.route("POST", "/volumes/create", [&api](Request& r) -> Result<Response> {
    json body = TRY(body_object(r));
    std::string name = TRY(jf::string(body, "Name", "volume"));
    std::string driver = TRY(jf::string(body, "Driver", "volume"));
    if (!driver.empty() && driver != "local") return fail(Errc::invalid_input, "volume driver '" + driver + "' is not supported (local)");
    auto opts = TRY(jf::string_map(body, "DriverOpts", "volume"));
    uint64_t size_mib = 0;
    for (const auto& [k, v] : opts) {
      if (k != "size") return fail(Errc::invalid_input, "volume option '" + k + "' is not supported (size)");
      auto mib = parse_uint<uint64_t>(v.ends_with("m") || v.ends_with("M") ? v.substr(0, v.size() - 1) : v);
      if (!mib) return fail(Errc::invalid_input, "volume size '" + v + "' is not a number of MiB");
      size_mib = *mib;
    }
    auto e = TRY(api.engine());
    if (name.empty()) name = TRY(engine::random_id());
    // docker: creating a volume that exists returns it.
    if (auto existing = e.volume(name)) return json_response(201, volume_json(*existing));
    return json_response(201, volume_json(TRY(e.create_volume(name, size_mib))));
  });

  api.route("GET", "/volumes/{name}", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    return json_response(200, volume_json(TRY(e.volume(r.params["name"]))));
  });

  api.route("DELETE", "/volumes/{name}", [&api](Request& r) -> Result<Response> {
    auto e = TRY(api.engine());
    const std::string& name = r.params["name"];
    auto removed = e.remove_volume(name, r.flag("force"));
    if (!removed && removed.error().kind == Errc::conflict) {
      // docker's words, with the ids of the containers that use it.
      std::string ids;
      for (const auto& c : TRY(e.list(TRY(engine::parse_container_filter(true, {})))))
        for (const auto& v : c.config.volumes)
          if (auto spec = engine::parse_volume_spec(v); spec && spec->named() && spec->source == name) {
            ids += (ids.empty() ? "" : " ") + c.id;
            break;
          }
      return fail(Errc::conflict, "remove " + name + ": volume is in use - [" + ids + "]");
    }
    TRY(std::move(removed));
    return empty_response();
  });

  api.route("POST", "/volumes/prune", [&api](Request&) -> Result<Response> {
    auto e = TRY(api.engine());
    json deleted = json::array();
    for (const auto& v : TRY(e.volumes()))
      if (e.remove_volume(v.name, false)) deleted.push_back(v.name);
    return json_response(200, json{{"VolumesDeleted", deleted}, {"SpaceReclaimed", 0}});
  });
}

}  // namespace tiffin::api
