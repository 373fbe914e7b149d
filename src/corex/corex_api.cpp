#include "corex/corex_api.hpp"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/text.hpp"

namespace tiffin::corex {

namespace {

using nlohmann::json;

json row(const ProcessInfo& p) {
  json j = {{"id", p.id}, {"pid", p.pid}, {"command", p.command}, {"state", state_name(p.state)}};
  j["exit_code"] = p.exited() && p.signal == 0 ? json(p.exit_code) : json(nullptr);
  j["signal"] = p.signal ? json(p.signal) : json(nullptr);
  return j;
}

ApiResponse reply(unsigned status, const json& j) { return {status, "application/json", j.dump() + "\n"}; }

ApiResponse error_reply(const Error& e) {
  unsigned status = 500;
  switch (e.kind) {
    case Errc::invalid_input:
    case Errc::program_not_found:
    case Errc::program_not_executable: status = 400; break;
    case Errc::not_found: status = 404; break;
    case Errc::conflict: status = 409; break;
    default: break;
  }
  return reply(status, {{"status", "error"}, {"message", e.message}});
}

ApiResponse success(json extra = json::object()) {
  extra["status"] = "success";
  return reply(200, extra);
}

// The request's parameters: the query's, with a POSTed JSON object's over them.
struct Params {
  std::vector<std::string> args;
  std::optional<std::string> id, signal;
};

Result<Params> params(std::string_view method, const Target& t, std::string_view body) {
  Params p;
  p.args = t.all("arg[]");
  if (p.args.empty()) p.args = t.all("arg");
  p.id = t.get("id");
  p.signal = t.get("signal");
  if (method == "POST" && !body.empty()) {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, "the body is not a JSON object");
    for (const char* key : {"args", "arg"}) {
      if (!j.contains(key)) continue;
      const json& a = j[key];
      if (!a.is_array() || !std::all_of(a.begin(), a.end(), [](const json& x) { return x.is_string(); }))
        return fail(Errc::invalid_input, std::string("\"") + key + "\" must be an array of strings");
      p.args = a.get<std::vector<std::string>>();
    }
    for (auto [key, out] : {std::pair{"id", &p.id}, {"signal", &p.signal}}) {
      if (!j.contains(key)) continue;
      const json& v = j[key];
      if (v.is_number_unsigned()) *out = std::to_string(v.get<uint64_t>());
      else if (v.is_string()) *out = v.get<std::string>();
      else return fail(Errc::invalid_input, std::string("\"") + key + "\" must be a number or a string");
    }
  }
  return p;
}

Result<uint64_t> process_id(const Params& p) {
  if (!p.id) return fail(Errc::invalid_input, "missing id");
  auto id = parse_uint<uint64_t>(*p.id);
  if (!id) return fail(Errc::invalid_input, "bad id '" + printable(*p.id) + "'");
  return *id;
}

}  // namespace

std::optional<int> parse_signal(std::string_view text) {
  if (auto n = parse_uint<uint8_t>(text)) return *n >= 1 && *n < NSIG ? std::optional<int>(*n) : std::nullopt;
  std::string name(text);
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.starts_with("SIG")) name.erase(0, 3);
  static constexpr std::pair<std::string_view, int> kNames[] = {{"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"WINCH", SIGWINCH}};
  for (const auto& [n, v] : kNames)
    if (n == name) return v;
  return std::nullopt;
}

std::string process_json(const ProcessInfo& p) { return row(p).dump(); }

bool mutating_route(std::string_view path) {
  return path == "/api/process/start" || path == "/api/process/stop" || path == "/api/process/kill" || path == "/api/process/clean";
}

ApiResponse handle_api(ProcessTable& table, std::string_view method, const Target& target, std::string_view body) {
  const std::string& path = target.path;
  bool get_only = path == "/api/processes" || path == "/api/process/logs";
  static constexpr std::string_view kRoutes[] = {
      "/api/processes", "/api/process/start", "/api/process/stop", "/api/process/kill", "/api/process/logs", "/api/process/clean"};
  if (std::find(std::begin(kRoutes), std::end(kRoutes), path) == std::end(kRoutes))
    return reply(404, {{"status", "error"}, {"message", "no route " + printable(path)}});
  // HEAD on a route that acts would act (only the body is dropped): GET or POST there.
  bool allowed = method == "GET" || (method == "HEAD" && get_only) || (method == "POST" && !get_only);
  if (!allowed) return reply(405, {{"status", "error"}, {"message", "method " + std::string(method) + " not allowed on " + path}});

  auto p = params(method, target, body);
  if (!p) return error_reply(p.error());
  if (path == "/api/processes") {
    json list = json::array();
    for (const auto& info : table.list()) list.push_back(row(info));
    return reply(200, {{"processes", list}});
  }
  if (path == "/api/process/start") {
    if (p->args.empty()) return error_reply(Error{Errc::invalid_input, 0, "no arg[]: nothing to start"});
    auto started = table.start(p->args);
    if (!started) return error_reply(started.error());
    return success({{"pid", started->pid}, {"id", started->id}});
  }
  if (path == "/api/process/clean") return success({{"removed", table.clean()}});

  auto id = process_id(*p);
  if (!id) return error_reply(id.error());
  if (path == "/api/process/logs") {
    auto logs = table.logs(*id);
    if (!logs) return error_reply(logs.error());
    return {200, "text/plain; charset=utf-8", std::move(*logs)};
  }
  if (path == "/api/process/stop") {
    if (auto r = table.stop(*id); !r) return error_reply(r.error());
    return success();
  }
  // kill
  int sig = SIGTERM;
  if (p->signal) {
    auto s = parse_signal(*p->signal);
    if (!s) return error_reply(Error{Errc::invalid_input, 0, "bad signal '" + printable(*p->signal) + "'"});
    sig = *s;
  }
  if (auto r = table.kill(*id, sig); !r) return error_reply(r.error());
  return success();
}

}  // namespace tiffin::corex
