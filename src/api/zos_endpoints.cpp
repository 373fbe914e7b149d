// /zos/v1: Zero-OS container workloads (deploy, get, list, delete) and the node's management
// (users, capacity, disks, commands). Who may call what:
//   - GET /zos/v1/node: anyone (the node's id and public key, needed to sign for it);
//   - POST /zos/v1/workloads: a registered user, by the signature in the body (zos_node.hpp);
//   - the other workload calls: the workload's user ("Authorization: Tiffin-User
//     id=N,time=UNIX,signature=HEX", over "METHOD PATH\nTIME", each signature usable once)
//     or an admin;
//   - /zos/v1/node/…, /zos/v1/containers/{id}/exec, /zos/v1/exec/{id}: admins only — callers on
//     the unix socket, or "Authorization: Bearer TOKEN".
#include "api/engine_api.hpp"
#include "api/exec_session.hpp"
#include "api/exec_store.hpp"
#include "common/hex.hpp"
#include "common/json_fields.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"
#include "zos/node_capacity.hpp"
#include "zos/zos_node.hpp"

namespace tiffin::api {

using json = nlohmann::json;

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

struct Caller {
  bool admin = false;
  std::optional<int64_t> user;
  // What a list or get may see: everything for an admin, the user's own otherwise.
  std::optional<int64_t> scope() const { return admin ? std::nullopt : user; }
};

// "id=7,time=1700000000,signature=ab…"
Result<Caller> user_caller(zos::ZosNode& node, const Request& r, std::string_view params) {
  std::map<std::string, std::string> kv;
  for (auto part : split(std::string(params), ',')) {
    size_t eq = part.find('=');
    if (eq != std::string::npos) kv[trim(part.substr(0, eq))] = trim(part.substr(eq + 1));
  }
  auto id = parse_int<int64_t>(kv["id"]);
  auto time = parse_int<int64_t>(kv["time"]);
  if (!id || !time || kv["signature"].empty()) return fail(Errc::denied, "Authorization: Tiffin-User needs id=, time= and signature=");
  TRY(node.check_user_request(*id, *time, r.method + " " + r.path + "\n" + std::to_string(*time), kv["signature"]));
  return Caller{false, *id};
}

Result<Caller> authenticate(zos::ZosNode& node, const Request& r) {
  if (r.local) return Caller{true, std::nullopt};
  std::string_view a = r.authorization;
  if (a.starts_with("Bearer ")) {
    if (TRY(node.state().admin_token_matches(std::string(a.substr(7))))) return Caller{true, std::nullopt};
    return fail(Errc::denied, "the admin token is wrong");
  }
  if (a.starts_with("Tiffin-User ")) return user_caller(node, r, a.substr(12));
  return fail(Errc::denied, "authentication required: a user's signature (Authorization: Tiffin-User …) or the admin token (Bearer)");
}

Result<void> admin_only(zos::ZosNode& node, const Request& r) {
  if (!TRY(authenticate(node, r)).admin) return fail(Errc::denied, "only the node's admin may do that");
  return {};
}

Response unauthorized(const Error& e) {
  Response res = error_response(e);
  if (e.kind == Errc::denied) res.status = 401;
  return res;
}

Result<int64_t> workload_id(const Request& r) {
  auto id = parse_int<int64_t>(r.params.at("id"));
  if (!id) return fail(Errc::invalid_input, "workload id '" + r.params.at("id") + "' is not a number");
  return *id;
}

Result<std::vector<std::string>> argv_of(const Request& r) {
  json body = TRY(body_object(r));
  if (!body.contains("argv") || !body["argv"].is_array() || body["argv"].empty())
    return fail(Errc::invalid_input, "argv: expected a non-empty array of strings");
  std::vector<std::string> argv;
  for (const auto& a : body["argv"]) {
    if (!a.is_string()) return fail(Errc::invalid_input, "argv: expected strings");
    argv.push_back(a.get<std::string>());
  }
  return argv;
}

}  // namespace

void add_zos_endpoints(EngineApi& api) {
  auto open = [&api]() { return zos::ZosNode::open(api.options()); };

  api.route("GET", "/zos/v1/node", [open](Request&) -> Result<Response> {
    zos::ZosNode node = TRY(open());
    return json_response(
        200, {{"node_id", node.identity().node_id()}, {"public_key", node.identity().public_hex()}, {"version", TIFFIN_VERSION}});
  });

  api.route("POST", "/zos/v1/workloads", [open](Request& r) -> Result<Response> {
    zos::ZosNode node = TRY(open());
    auto req = zos::parse_deploy_request(r.body);
    if (!req) return error_response(req.error());
    zos::DeployOutcome out = node.deploy(*req);
    Response res = json_response(200, zos::result_json(out.result));
    if (out.error) res.status = out.error->kind == Errc::denied && !out.authenticated ? 401 : error_response(*out.error).status;
    return res;
  });

  api.route("GET", "/zos/v1/workloads", [&api, open](Request& r) -> Result<Response> {
    zos::ZosNode node = TRY(open());
    auto caller = authenticate(node, r);
    if (!caller) return unauthorized(caller.error());
    auto e = api.engine();
    json out = json::array();
    for (const auto& rec : TRY(node.list(caller->scope()))) out.push_back(zos::workload_view(e ? &*e : nullptr, rec));
    return json_response(200, out);
  });

  api.route("GET", "/zos/v1/workloads/{id}", [&api, open](Request& r) -> Result<Response> {
    zos::ZosNode node = TRY(open());
    auto caller = authenticate(node, r);
    if (!caller) return unauthorized(caller.error());
    auto e = api.engine();
    return json_response(200, zos::workload_view(e ? &*e : nullptr, TRY(node.get(TRY(workload_id(r)), caller->scope()))));
  });

  api.route("DELETE", "/zos/v1/workloads/{id}", [open](Request& r) -> Result<Response> {
    zos::ZosNode node = TRY(open());
    auto caller = authenticate(node, r);
    if (!caller) return unauthorized(caller.error());
    return json_response(200, zos::result_json(TRY(node.remove(TRY(workload_id(r)), caller->scope()))));
  });

  // ---- the node's admin
  auto admin = [open](std::function<Result<Response>(zos::ZosNode&, Request&)> f) {
    return [open, f](Request& r) -> Result<Response> {
      zos::ZosNode node = TRY(open());
      if (auto ok = admin_only(node, r); !ok) return unauthorized(ok.error());
      return f(node, r);
    };
  };
  api.route("GET", "/zos/v1/node/users", admin([](zos::ZosNode& node, Request&) -> Result<Response> {
    json out = json::array();
    for (const auto& u : TRY(node.state().users())) out.push_back({{"id", u.id}, {"public_key", u.public_key}});
    return json_response(200, out);
  }));
  api.route("POST", "/zos/v1/node/users", admin([](zos::ZosNode& node, Request& r) -> Result<Response> {
    json body = TRY(body_object(r));
    if (!body.contains("id") || !body["id"].is_number_integer() || !body.contains("public_key") || !body["public_key"].is_string())
      return fail(Errc::invalid_input, "expected {\"id\": N, \"public_key\": \"hex\"}");
    zos::NodeUser u{body["id"].get<int64_t>(), body["public_key"].get<std::string>()};
    if (auto key = from_hex(u.public_key); !key || key->size() != 32)
      return fail(Errc::invalid_input, "public_key: expected an ed25519 public key as 64 hex characters");
    TRY(node.state().add_user(u));
    return empty_response(204);
  }));
  api.route("DELETE", "/zos/v1/node/users/{id}", admin([](zos::ZosNode& node, Request& r) -> Result<Response> {
    auto id = parse_int<int64_t>(r.params.at("id"));
    if (!id) return fail(Errc::invalid_input, "user id '" + r.params.at("id") + "' is not a number");
    TRY(node.state().remove_user(*id));
    return empty_response(204);
  }));
  api.route("GET", "/zos/v1/node/info",
      admin([](zos::ZosNode& node, Request&) -> Result<Response> { return json_response(200, zos::node_capacity(node)); }));
  api.route("GET", "/zos/v1/node/disks",
      admin([](zos::ZosNode&, Request&) -> Result<Response> { return json_response(200, zos::disks_json(zos::host_disks())); }));
  // A command on the host (zos exec), and a tiffin verb on this node (--node NAME).
  api.route("POST", "/zos/v1/node/exec", admin([](zos::ZosNode&, Request& r) -> Result<Response> {
    auto [code, out] = TRY(run_captured(TRY(argv_of(r)), true));
    return json_response(200, {{"exit_code", code}, {"output", out}});
  }));
  api.route("POST", "/zos/v1/node/cli", admin([&api](zos::ZosNode&, Request& r) -> Result<Response> {
    engine::Engine e = TRY(api.engine());  // its options with every default filled in
    const engine::EngineOptions& o = e.options();
    std::vector<std::string> argv = {o.tiffin_binary, "--root", o.root, "--run-root", o.run_root};
    for (auto& a : TRY(argv_of(r))) argv.push_back(std::move(a));
    auto [code, out] = TRY(run_captured(argv, true));
    return json_response(200, {{"exit_code", code}, {"output", out}});
  }));

  // An interactive program in a container (`zos container ID shell`): the request's connection
  // becomes the program's terminal (docker's multiplexed frames without "tty"), through docker's
  // exec machinery; /zos/v1 had only calls that answer once. Its exit code is read afterwards
  // from GET /zos/v1/exec/{X-Tiffin-Exec}: a raw terminal stream has no room for it.
  // Body: {"cmd": [...], "tty": bool, "env": ["K=V"], "user": "", "workdir": "", "rows": N, "cols": N}.
  api.route("POST", "/zos/v1/containers/{id}/exec", admin([&api](zos::ZosNode&, Request& r) -> Result<Response> {
    namespace jf = tiffin::json_fields;
    json body = TRY(body_object(r));
    engine::Engine e = TRY(api.engine());
    auto info = TRY(e.inspect(TRY(container_id(e, r.params.at("id")))));
    if (info.state.status != shim::ContainerStatus::running) return fail(Errc::conflict, "container " + info.id + " is not running");
    ExecInstance x;
    x.id = TRY(engine::random_id());
    x.container = info.id;
    x.request.args = TRY(jf::strings(body, "cmd", "exec"));
    if (x.request.args.empty()) return fail(Errc::invalid_input, "exec: cmd: expected a non-empty array of strings");
    x.request.env = TRY(jf::strings(body, "env", "exec"));
    x.request.user = TRY(jf::string(body, "user", "exec"));
    x.request.workdir = TRY(jf::string(body, "workdir", "exec"));
    x.request.tty = TRY(jf::boolean(body, "tty", "exec"));
    x.attach_stdin = x.attach_stdout = x.attach_stderr = true;
    auto rows = TRY(jf::unsigned_number(body, "rows", "exec")), cols = TRY(jf::unsigned_number(body, "cols", "exec"));
    if (rows.value_or(0) > 0xffff || cols.value_or(0) > 0xffff) return fail(Errc::invalid_input, "exec: rows and cols are at most 65535");
    api.execs().put(x);
    if (!api.execs().try_start(x.id)) return fail(Errc::internal, "exec " + x.id + " could not be started");
    Response res = hijacked_exec(api, x, static_cast<uint16_t>(rows.value_or(0)), static_cast<uint16_t>(cols.value_or(0)));
    res.headers.emplace_back("X-Tiffin-Exec", x.id);
    return res;
  }));
  api.route("GET", "/zos/v1/exec/{id}", admin([&api](zos::ZosNode&, Request& r) -> Result<Response> {
    auto x = api.execs().get(r.params.at("id"));
    if (!x) return fail(Errc::not_found, "no exec " + r.params.at("id"));
    return json_response(200, {{"id", x->id}, {"container", x->container}, {"running", x->running},
                                  {"exit_code", x->exit_code ? json(*x->exit_code) : json(nullptr)}});
  }));
}

}  // namespace tiffin::api
