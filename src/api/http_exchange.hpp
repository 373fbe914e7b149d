// What the Engine API's handlers see of HTTP: a parsed request, and a response that is either
// a body or a stream written after the head (logs, wait, stats, pull progress; the connection
// closes when it ends), or — for attach and exec — the raw connection both ways ("hijacking":
// 101 UPGRADED when the client asked to upgrade, as docker answers).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/router.hpp"
#include "common/error.hpp"

namespace tiffin::api {

struct Request {
  std::string method, path, version;  // path without the /vX.Y prefix; version negotiated
  std::multimap<std::string, std::string> query;
  PathParams params;  // from the route's {name}s
  std::string body;
  // POST /build: the body spooled to an unnamed file (its offset at 0), `body` empty; the
  // server closes it once the response (and its stream) ended. -1 otherwise.
  int body_fd = -1;
  std::string content_type;
  bool wants_upgrade = false;  // Connection: Upgrade, Upgrade: tcp
  std::string authorization;   // the Authorization header (the Zero-OS API's)
  bool local = false;          // through the unix socket, whose mode admits the node's admins only

  // A query value, or `fallback`.
  std::string arg(const std::string& key, const std::string& fallback = {}) const;
  // docker's booleans in queries: 1, true, True (0, false, "" are false).
  bool flag(const std::string& key, bool fallback = false) const;
  // Every value of a repeated key.
  std::vector<std::string> args(const std::string& key) const;
};

// The client's connection once the head of a streamed or hijacked response went out.
class Connection {
 public:
  virtual ~Connection() = default;
  // Writes everything; Errc::unavailable when the client went away.
  virtual Result<void> write(std::string_view bytes) = 0;
  // What the client sent next: bytes, "" at its end of stream, nullopt when `timeout_ms` passed
  // first (-1: wait as long as it takes).
  virtual Result<std::optional<std::string>> read_some(int timeout_ms) = 0;
  // For poll(): readable when read_some has something (bytes buffered count).
  virtual int fd() const = 0;
  virtual bool has_buffered() const = 0;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::function<void(Connection&)> stream;  // set: streamed (or hijacked) after the head
  bool hijack = false;                      // raw both ways (101 when the client asked)
};

// JSON as it goes out: bytes that are not UTF-8 (a client's name, a program's output) are
// replaced, never a reason to throw.
std::string json_text(const nlohmann::json& j);
Response json_response(unsigned status, const nlohmann::json& body);
Response empty_response(unsigned status = 204);
// docker's error body {"message": …} with the status docker uses for the error's kind.
Response error_response(const Error& e);
// A request's JSON object ({} when there is no body); Errc::invalid_input otherwise.
Result<nlohmann::json> body_object(const Request& r);
// Whether the client closed the connection (a waiting request whose client left). A client
// that only shut down its writing side (docker's attach without stdin does) is still there.
bool client_gone(Connection& conn);
// For requests whose client never sends more (wait, logs, events): its end of stream means it
// left — over TCP a closed peer shows only that.
bool client_left(Connection& conn);
// One JSON document and a newline on a stream (pull progress, wait's answer).
Result<void> write_json_line(Connection& conn, const nlohmann::json& j);

}  // namespace tiffin::api
