// Every HTTP request coreX answers, without sockets: authentication (the token from ?token= set
// as a cookie and the browser sent back to the page without it), the pages (/ the index,
// /attach/<id> a terminal, /static/<file>), the API (corex_api.hpp), and the check of a
// WebSocket handshake on /ws/<id> (auth, Origin, the "tty" subprotocol, an existing process).
// Static files need no authentication (they hold no data); everything else does.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <variant>

#include "corex/auth.hpp"
#include "corex/process_table.hpp"

namespace tiffin::corex {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct HttpContext {
  const Credentials& credentials;
  ProcessTable& table;
};

Response handle_http(const Request& req, HttpContext& ctx);

// For an upgrade request: the process to attach to and whether the client asked for the "tty"
// subprotocol, or the answer that refuses it (401, 403, 404, 400).
struct WebSocketTarget {
  uint64_t process = 0;
  bool tty_protocol = false;
};
std::variant<WebSocketTarget, Response> check_websocket(const Request& req, HttpContext& ctx);

}  // namespace tiffin::corex
