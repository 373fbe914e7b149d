// Fuzzes what a client of `tiffin serve` controls before any engine call: the request target
// (version prefix, route, percent-escapes, query), docker's filters document, and the body of
// POST /containers/create. Nothing may crash or throw; a route that matches gives parameters
// that are never empty; a create body that is accepted yields a config the engine's own
// validation accepts.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_version.hpp"
#include "api/container_create.hpp"
#include "api/filters.hpp"
#include "api/router.hpp"

using namespace tiffin;
using namespace tiffin::api;

namespace {

const Router<int>& routes() {
  static const Router<int> r = [] {
    Router<int> r;
    int n = 0;
    for (const char* p : {"/_ping", "/version", "/containers/json", "/containers/create", "/containers/{id}/json", "/containers/{id}/start",
             "/containers/{id}/attach", "/containers/{id}/logs", "/containers/{id}", "/exec/{id}/start", "/images/{name*}/json",
             "/images/{name*}/tag", "/images/{name*}", "/volumes/{name}", "/networks/{id}/connect"})
      for (const char* m : {"GET", "POST", "DELETE"}) r.add(m, p, n++);
    return r;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // "<METHOD> <target>\n<body>"
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl), body = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  size_t sp = line.find(' ');
  std::string method(line.substr(0, sp));
  std::string_view target = sp == std::string_view::npos ? "" : line.substr(sp + 1);
  size_t q = target.find('?');
  auto split = split_version(target.substr(0, q));
  if (split) {
    auto m = routes().match(method, split->path);
    if (m.handler)
      for (const auto& [k, v] : m.params)
        if (v.empty()) std::abort();
  }
  auto query = parse_query(q == std::string_view::npos ? "" : target.substr(q + 1));
  for (const auto& [k, v] : query)
    if (k == "filters") (void)filter_pairs(v);
  (void)filter_pairs(std::string(body));
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded()) {
    auto c = config_from_create(j, query.count("name") ? query.find("name")->second : "");
    if (c && !engine::validate_container_config(*c)) std::abort();
  }
  return 0;
}
