#include "api/build_query.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace tiffin::api {

using json = nlohmann::json;

namespace {

// docker's buildargs and labels: a JSON object of strings (buildargs' values may be null: an
// ARG the client named without a value, which keeps the Dockerfile's default).
Result<std::map<std::string, std::string>> string_map(const Request& r, const std::string& key) {
  std::map<std::string, std::string> out;
  std::string text = r.arg(key);
  if (text.empty()) return out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, key + " is not a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (v.is_null()) continue;
    if (!v.is_string()) return fail(Errc::invalid_input, key + ": the value of " + k + " is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

Result<std::string> context_relative(const std::string& path) {
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string part = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (part == "..") return fail(Errc::invalid_input, "the Dockerfile (" + path + ") must be in the build context");
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  if (out.empty()) return fail(Errc::invalid_input, "the Dockerfile (" + path + ") names no file in the build context");
  return out;
}

Result<std::string> build_tag(const std::string& t) {
  std::string name = t;
  for (const char* prefix : {"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"})
    if (name.starts_with(prefix)) {
      name = name.substr(std::string_view(prefix).size());
      break;
    }
  if (name.empty() || name.find_first_of(" \t\n\r") != std::string::npos || name.find('@') != std::string::npos)
    return fail(Errc::invalid_input, "invalid tag '" + t + "': a name[:tag] is wanted");
  size_t slash = name.rfind('/'), colon = name.rfind(':');
  bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  if (tagged && colon + 1 == name.size()) return fail(Errc::invalid_input, "invalid tag '" + t + "': the tag is empty");
  return tagged ? name : name + ":latest";
}

Result<BuildQuery> parse_build_query(const Request& r) {
  if (!r.arg("remote").empty())
    return fail(Errc::unsupported, "building from a remote context (remote=" + r.arg("remote") + ") is not supported: send the context");
  std::string version = r.arg("version", "1");
  if (version == "2") return fail(Errc::unsupported, "BuildKit (version=2) is not supported: use the classic builder (DOCKER_BUILDKIT=0)");
  if (version != "1") return fail(Errc::invalid_input, "invalid builder version " + version);
  BuildQuery q;
  q.dockerfile = TRY(context_relative(r.arg("dockerfile", "Dockerfile")));
  for (const auto& t : r.args("t")) {
    if (t.empty()) continue;
    std::string tag = TRY(build_tag(t));
    if (std::find(q.options.tags.begin(), q.options.tags.end(), tag) == q.options.tags.end()) q.options.tags.push_back(tag);
  }
  q.options.build_args = TRY(string_map(r, "buildargs"));
  q.options.labels = TRY(string_map(r, "labels"));
  q.options.target = r.arg("target");
  q.options.no_cache = r.flag("nocache");
  q.quiet = r.flag("q");
  std::string net = r.arg("networkmode");
  if (net.empty() || net == "default") net = "bridge";
  if (net != "bridge" && net != "none" && net != "host")
    return fail(Errc::invalid_input, "network mode '" + net + "' is not supported for builds: bridge (default), none or host");
  q.options.network = net;
  q.options.platform = r.arg("platform");
  return q;
}

}  // namespace tiffin::api
