// Registry credentials in the files docker, podman and skopeo share. Only the inline "auth"
// (and "identitytoken") entries are read; credential helpers (credsStore, credHelpers) are not
// run.
#include "image/credentials.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/base64.hpp"
#include "common/fd.hpp"
#include "common/text.hpp"

namespace tiffin::image {
namespace {

using json = nlohmann::json;
constexpr const char* kDockerHubKey = "https://index.docker.io/v1/";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string home() {
  if (std::string h = env("HOME"); !h.empty()) return h;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/";
}

// Every file lookups read, in order.
std::vector<std::string> candidate_files() {
  std::vector<std::string> files;
  if (std::string f = env("REGISTRY_AUTH_FILE"); !f.empty()) files.push_back(f);
  if (std::string d = env("XDG_RUNTIME_DIR"); !d.empty()) files.push_back(d + "/containers/auth.json");
  if (std::string d = env("DOCKER_CONFIG"); !d.empty()) files.push_back(d + "/config.json");
  files.push_back(home() + "/.docker/config.json");
  return files;
}

bool is_docker_hub(std::string_view host) { return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io"; }

// docker's ConvertToHostname: "https://host:5000/v1/" → "host:5000".
std::string key_host(std::string_view key) {
  if (key.starts_with("https://")) key.remove_prefix(8);
  else if (key.starts_with("http://")) key.remove_prefix(7);
  return std::string(key.substr(0, key.find('/')));
}

bool key_matches(std::string_view key, const std::string& registry) {
  std::string host = key_host(key);
  return host == registry || (is_docker_hub(host) && is_docker_hub(registry));
}

// The file's JSON object; an absent file is an empty object, a broken one an error (never
// overwritten: it may hold other tools' settings).
Result<json> load(const std::string& path) {
  auto bytes = read_file(path, 16 << 20);
  if (!bytes) {
    if (bytes.error().kind == Errc::not_found) return json::object();
    return std::unexpected(bytes.error());
  }
  json j = json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, path + ": not a JSON object");
  if (j.contains("auths") && !j["auths"].is_object()) return fail(Errc::invalid_input, path + ": \"auths\" is not an object");
  return j;
}

Result<std::optional<Credentials>> entry_credentials(const json& e, const std::string& where) {
  if (!e.is_object()) return fail(Errc::invalid_input, where + ": not an object");
  if (e.contains("identitytoken") && e["identitytoken"].is_string() && !e["identitytoken"].get<std::string>().empty())
    return std::optional<Credentials>(Credentials{"<token>", e["identitytoken"].get<std::string>()});
  if (e.contains("auth") && e["auth"].is_string() && !e["auth"].get<std::string>().empty()) {
    auto plain = base64_decode(e["auth"].get<std::string>());
    if (!plain) return fail(Errc::invalid_input, where + ": \"auth\" is not base64");
    auto colon = plain->find(':');
    if (colon == std::string::npos) return fail(Errc::invalid_input, where + ": \"auth\" is not base64 of user:password");
    return std::optional<Credentials>(Credentials{plain->substr(0, colon), plain->substr(colon + 1)});
  }
  if (e.contains("username") && e["username"].is_string() && e.contains("password") && e["password"].is_string())
    return std::optional<Credentials>(Credentials{e["username"].get<std::string>(), e["password"].get<std::string>()});
  return std::optional<Credentials>();
}

Result<void> save(const std::string& path, const json& j) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("creating " + dir);
  }
  return write_file_atomic(path, j.dump(1, '\t', false, json::error_handler_t::replace) + "\n", 0600);
}

}  // namespace

std::string encode_auth(const Credentials& c) { return base64_encode(c.username + ":" + c.password); }

std::string credentials_file() { return candidate_files().front(); }

Result<std::optional<Credentials>> find_credentials(const std::string& registry) {
  for (const auto& path : candidate_files()) {
    json j = TRY(load(path));
    if (!j.contains("auths")) continue;
    for (const auto& [key, entry] : j["auths"].items()) {
      if (!key_matches(key, registry)) continue;
      auto c = TRY(entry_credentials(entry, path + ": auths[\"" + printable(key) + "\"]"));
      if (c) return c;
    }
  }
  return std::optional<Credentials>();
}

Result<void> store_credentials(const std::string& registry, const Credentials& c) {
  const std::string path = credentials_file();
  json j = TRY(load(path));
  json& auths = j["auths"];
  if (!auths.is_object()) auths = json::object();
  // One entry per registry: drop other spellings of it (docker's "https://host/v1/" forms).
  std::string key = is_docker_hub(registry) ? kDockerHubKey : registry;
  for (auto it = auths.begin(); it != auths.end();) {
    if (key_matches(it.key(), registry) && it.key() != key) it = auths.erase(it);
    else ++it;
  }
  json entry = auths.contains(key) && auths[key].is_object() ? auths[key] : json::object();
  entry.erase("identitytoken");
  entry.erase("username");
  entry.erase("password");
  entry["auth"] = encode_auth(c);
  auths[key] = entry;
  TRY_CTX(save(path, j), "storing credentials in " + path);
  return {};
}

Result<void> remove_credentials(const std::string& registry) {
  // From every file lookups read: after logout no stored credentials are used for it.
  bool removed = false;
  for (const auto& path : candidate_files()) {
    json j = TRY(load(path));
    if (!j.contains("auths")) continue;
    json& auths = j["auths"];
    bool changed = false;
    for (auto it = auths.begin(); it != auths.end();) {
      if (key_matches(it.key(), registry)) {
        it = auths.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    if (changed) {
      TRY_CTX(save(path, j), "removing credentials from " + path);
      removed = true;
    }
  }
  if (!removed) return fail(Errc::not_found, "not logged in to " + registry);
  return {};
}

}  // namespace tiffin::image
