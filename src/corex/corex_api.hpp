// threefoldtech/corex's HTTP API over a ProcessTable (../docs/DESIGN.md §3.4), without sockets:
//   GET  /api/processes                          {"processes":[{id, pid, command, state, …}]}
//   GET|POST /api/process/start?arg[]=…          {"status":"success","pid":P,"id":I}
//   GET|POST /api/process/stop?id=I              {"status":"success"}
//   GET|POST /api/process/kill?id=I&signal=S     S a number or a name (9, KILL, SIGKILL); TERM by default
//   GET  /api/process/logs?id=I                  the process's recent output (text/plain)
//   GET|POST /api/process/clean                  {"status":"success","removed":N}
// A POST may carry its parameters as a JSON object instead ({"args":[…]} or {"arg":[…]},
// {"id":I,"signal":S}). Errors are {"status":"error","message":…} with 400 (bad input), 404 (no
// such process or route), 405 (method) or 409 (the process has exited).
// The routes that change something (start, stop, kill, clean) take no HEAD; when they take GET
// (threefoldtech/corex's clients use it) is corex_http's to decide: it knows how the request was
// authenticated.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "corex/process_table.hpp"
#include "corex/url_query.hpp"

namespace tiffin::corex {

struct ApiResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// start, stop, kill, clean.
bool mutating_route(std::string_view path);

ApiResponse handle_api(ProcessTable& table, std::string_view method, const Target& target, std::string_view body);

// "9", "KILL", "SIGKILL", "sigkill" → 9; nullopt for anything else.
std::optional<int> parse_signal(std::string_view text);
// A process's row as the API and the page show it.
std::string process_json(const ProcessInfo& p);

}  // namespace tiffin::corex
