#include "cli/zos_remote.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "common/fd.hpp"
#include "store/http_client.hpp"

namespace tiffin::cli {

using json = nlohmann::json;

std::string nodes_file() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home && *home ? home : "/root") + "/.config";
  return base + "/tiffin/nodes.json";
}

namespace {

// The file as it is: {"nodes": {}} when there is none.
Result<json> read_nodes_json() {
  std::string path = nodes_file();
  if (::access(path.c_str(), F_OK) != 0) return json{{"nodes", json::object()}};
  Bytes text = TRY(read_file(path, 1 << 20));
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object() || !j.contains("nodes") || !j["nodes"].is_object()) return fail(Errc::corrupt, path + ": not a nodes file");
  if (j.contains("default") && !j["default"].is_string()) return fail(Errc::corrupt, path + ": \"default\" is not a node's name");
  return j;
}

Result<void> write_nodes_json(const std::map<std::string, NodeEntry>& nodes, const std::string& default_name) {
  json j = {{"nodes", json::object()}};
  for (const auto& [name, n] : nodes) j["nodes"][name] = {{"url", n.url}, {"token", n.token}};
  if (!default_name.empty() && nodes.contains(default_name)) j["default"] = default_name;
  std::string path = nodes_file();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  return write_file_atomic(path, j.dump(2) + "\n", 0600, true);
}

}  // namespace

Result<std::map<std::string, NodeEntry>> load_nodes() {
  std::map<std::string, NodeEntry> out;
  json j = TRY(read_nodes_json());
  for (const auto& [name, n] : j["nodes"].items()) {
    if (!n.is_object() || !n.contains("url") || !n["url"].is_string())
      return fail(Errc::corrupt, nodes_file() + ": node " + name + " has no url");
    out[name] = {n["url"].get<std::string>(), n.value("token", "")};
  }
  return out;
}

Result<void> save_nodes(const std::map<std::string, NodeEntry>& nodes) { return write_nodes_json(nodes, TRY(default_node())); }

Result<std::string> default_node() { return TRY(read_nodes_json()).value("default", ""); }

Result<void> set_default_node(const std::string& name) {
  auto nodes = TRY(load_nodes());
  if (!nodes.contains(name)) return fail(Errc::not_found, "no node '" + name + "' in " + nodes_file());
  return write_nodes_json(nodes, name);
}

Result<void> forget_node(const std::string& name) {
  auto nodes = TRY(load_nodes());
  if (!nodes.erase(name)) return fail(Errc::not_found, "no node '" + name + "' in " + nodes_file());
  return save_nodes(nodes);
}

Result<NodeEntry> find_node(const std::string& name) {
  auto nodes = TRY(load_nodes());
  auto it = nodes.find(name);
  if (it == nodes.end())
    return fail(Errc::not_found, "no node '" + name + "' in " + nodes_file() + " (tiffin node add NAME URL --token …)");
  return it->second;
}

Result<ApiAnswer> call_node(
    const NodeEntry& node, const std::string& method, const std::string& path, const std::string& auth, const std::string& body) {
  HttpOptions opts;
  opts.attempts = 1;                                // a deploy must not be sent twice (its signature would be a replay)
  opts.request_timeout = std::chrono::minutes(10);  // a first deploy may pull its image
  HttpClient http(opts);
  HttpRequest req;
  req.method = method;
  std::string base = node.url;
  while (base.ends_with('/')) base.pop_back();
  req.url = base + path;
  req.body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
  if (!auth.empty()) req.headers.push_back("Authorization: " + auth);
  if (!body.empty()) req.headers.push_back("Content-Type: application/json");
  HttpResponse res = TRY_CTX(http.send(req), "node " + node.url);
  ApiAnswer a;
  a.status = res.status;
  a.body = json::parse(res.body.begin(), res.body.end(), nullptr, false);
  if (a.body.is_discarded()) a.body = nullptr;
  return a;
}

std::string user_authorization(int64_t user, const zos::NodeIdentity& key, const std::string& method, const std::string& path) {
  std::string t = std::to_string(static_cast<int64_t>(std::time(nullptr)));
  return "Tiffin-User id=" + std::to_string(user) + ",time=" + t + ",signature=" + key.sign_hex(method + " " + path + "\n" + t);
}

Result<json> expect_ok(const ApiAnswer& a, const std::string& what) {
  if (a.status >= 200 && a.status < 300) return a.body;
  std::string msg =
      a.body.is_object() && a.body.contains("message") && a.body["message"].is_string() ? a.body["message"].get<std::string>() : "";
  Errc kind = a.status == 401 || a.status == 403 ? Errc::denied
              : a.status == 404                  ? Errc::not_found
              : a.status == 409                  ? Errc::conflict
              : a.status == 400                  ? Errc::invalid_input
                                                 : Errc::unavailable;
  return fail(kind, what + ": the node answered " + std::to_string(a.status) + (msg.empty() ? "" : ": " + msg));
}

Result<NodeCliAnswer> cli_on_node(const NodeEntry& n, const std::string& name, const std::vector<std::string>& argv) {
  if (n.token.empty()) return fail(Errc::denied, "node " + name + " has no admin token (tiffin node add " + name + " URL --token …)");
  std::string request;
  try {
    request = json{{"argv", argv}}.dump();
  } catch (const json::exception&) {
    return fail(Errc::invalid_input, "the command line must be UTF-8 text");
  }
  json body = TRY(expect_ok(TRY(call_node(n, "POST", "/zos/v1/node/cli", bearer(n), request)), "node " + name));
  return NodeCliAnswer{body.value("exit_code", 1), body.value("output", "")};
}

int run_on_node(const std::string& name, const std::vector<std::string>& argv) {
  auto run = [&]() -> Result<int> {
    NodeCliAnswer a = TRY(cli_on_node(TRY(find_node(name)), name, argv));
    std::fwrite(a.output.data(), 1, a.output.size(), stdout);
    return a.exit_code;
  };
  auto code = run();
  if (code) return *code;
  std::fprintf(stderr, "tiffin: %s\n", code.error().message.c_str());
  return code.error().kind == Errc::invalid_input || code.error().kind == Errc::not_found || code.error().kind == Errc::denied ? 2 : 1;
}

}  // namespace tiffin::cli
