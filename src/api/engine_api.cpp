#include "api/engine_api.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include "api/attach_broker.hpp"
#include "api/exec_store.hpp"

namespace tiffin::api {

std::string Request::arg(const std::string& key, const std::string& fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

bool Request::flag(const std::string& key, bool fallback) const {
  auto it = query.find(key);
  if (it == query.end()) return fallback;
  return it->second == "1" || it->second == "true" || it->second == "True";
}

std::vector<std::string> Request::args(const std::string& key) const {
  std::vector<std::string> out;
  auto [a, b] = query.equal_range(key);
  for (auto it = a; it != b; ++it) out.push_back(it->second);
  return out;
}

// Whether the client closed the connection (a waiting request whose client left). A client
// that only shut down its writing side (docker's attach without stdin does) is still there.
bool client_gone(Connection& conn) {
  pollfd p{conn.fd(), 0, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLHUP | POLLERR)) != 0;
}

// For requests whose client never sends more (wait, logs): its end of stream means it left —
// over TCP a closed peer shows only that.
bool client_left(Connection& conn) {
  if (client_gone(conn)) return true;
  pollfd p{conn.fd(), POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & POLLRDHUP) return true;
  char c;
  return (p.revents & POLLIN) && ::recv(conn.fd(), &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

Result<std::string> container_id(engine::Engine& e, const std::string& ref) {
  auto id = e.resolve_container(ref);
  if (!id && id.error().kind == Errc::not_found) return fail(Errc::not_found, "No such container: " + ref);
  return id;
}

std::string json_text(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

Response json_response(unsigned status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = json_text(body) + "\n";
  return r;
}

Response empty_response(unsigned status) {
  Response r;
  r.status = status;
  r.content_type.clear();
  return r;
}

Result<nlohmann::json> body_object(const Request& r) {
  if (r.body.empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, "the request body is not a JSON object");
  return j;
}

Result<void> write_json_line(Connection& conn, const nlohmann::json& j) { return conn.write(json_text(j) + "\n"); }

Response error_response(const Error& e) {
  unsigned status = 500;
  switch (e.kind) {
    case Errc::invalid_input: status = 400; break;
    case Errc::not_found: status = 404; break;
    case Errc::conflict: status = 409; break;
    case Errc::denied: status = 403; break;
    case Errc::unsupported: status = 501; break;
    case Errc::unavailable: status = 503; break;
    // A command that cannot run: docker's create succeeds and start answers 400 with the reason.
    case Errc::program_not_found:
    case Errc::program_not_executable: status = 400; break;
    default: break;
  }
  // docker's client tells 127 from 126 from 125 by words in the message, lowercase.
  std::string message = e.message;
  if (e.kind == Errc::program_not_found && message.find("executable file not found") == std::string::npos &&
      message.find("no such file or directory") == std::string::npos)
    message += ": no such file or directory";
  if (e.kind == Errc::program_not_executable && message.find("permission denied") == std::string::npos) message += ": permission denied";
  return json_response(status, nlohmann::json{{"message", message}});
}

EngineApi::EngineApi(engine::EngineOptions opts)
    : opts_(std::move(opts)), attaches_(std::make_shared<AttachBroker>()), execs_(std::make_unique<ExecStore>()) {
  opts_.progress = false;  // no terminal here
  add_system_endpoints(*this);
  add_container_endpoints(*this);
  add_exec_endpoints(*this);
  add_image_endpoints(*this);
  add_build_endpoints(*this);
  add_volume_endpoints(*this);
  add_network_endpoints(*this);
  add_event_endpoints(*this);
  add_stats_endpoints(*this);
  add_container_files_endpoints(*this);
  add_zos_endpoints(*this);
}

EngineApi::~EngineApi() = default;

Response EngineApi::handle(Request& r) {
  try {
    auto m = router_.match(r.method, r.path);
    if (!m.handler) {
      if (m.method_mismatch) {
        Response res = error_response(Error{Errc::invalid_input, 0, "method " + r.method + " not allowed on " + r.path});
        res.status = 405;
        return res;
      }
      return json_response(404, nlohmann::json{{"message", "page not found"}});
    }
    r.params = std::move(m.params);
    auto res = (*m.handler)(r);
    if (!res) return error_response(res.error());
    return std::move(*res);
  } catch (const std::exception& e) {
    // nlohmann's type errors in a handler that read a field unchecked: the client's fault.
    spdlog::warn("api: {} {}: {}", r.method, r.path, e.what());
    return json_response(400, nlohmann::json{{"message", std::string("bad request: ") + e.what()}});
  }
}

}  // namespace tiffin::api
