#include "corex/corex_http.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/version.hpp>

#include "common/text.hpp"
#include "corex/corex_api.hpp"
#include "corex/url_query.hpp"
#include "corex/web_assets.hpp"

namespace tiffin::corex {

namespace http = boost::beast::http;

namespace {

// Boost 1.74's Beast has a string_view of its own.
std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }
boost::beast::string_view bsv(std::string_view s) { return {s.data(), s.size()}; }

void common_headers(Response& res) {
  res.set(http::field::server, "tiffin-corex");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  // xterm.js sets inline styles on its elements; nothing else is inline.
  res.set("Content-Security-Policy",
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
      "base-uri 'none'; form-action 'self'");
}

Response make(const Request& req, http::status status, std::string_view type, std::string body) {
  Response res{status, req.version()};
  common_headers(res);
  res.set(http::field::content_type, bsv(type));
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response json_error(const Request& req, http::status status, const std::string& message) {
  std::string body = "{\"status\":\"error\",\"message\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') body += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    body += c;
  }
  return make(req, status, "application/json", body + "\"}\n");
}

Response asset(const Request& req, std::string_view name, http::status status = http::status::ok) {
  const WebAsset* a = find_web_asset(name);
  if (!a) return json_error(req, http::status::not_found, "no file " + std::string(name));
  Response res = make(req, status, a->content_type, std::string(a->data));
  res.set(http::field::cache_control, name.ends_with(".html") ? "no-store" : "max-age=3600");
  return res;
}

bool wants_html(const Request& req) {
  auto accept = sv(req[http::field::accept]);
  return accept.find("text/html") != std::string_view::npos;
}

Response unauthorized(const Request& req, const Credentials& c) {
  Response res = wants_html(req) && !c.token.empty() ? asset(req, "login.html", http::status::unauthorized)
                                                     : json_error(req, http::status::unauthorized, "authentication required");
  if (!c.basic_user.empty()) res.set(http::field::www_authenticate, "Basic realm=\"coreX\", charset=\"UTF-8\"");
  return res;
}

Presented presented(const Request& req, const std::optional<std::string>& query_token) {
  Presented p;
  p.authorization = sv(req[http::field::authorization]);
  p.cookie = sv(req[http::field::cookie]);
  if (query_token) p.query_token = *query_token;
  return p;
}

// Sec-Fetch-Site (sent by every current browser): "same-origin", "same-site" (another port of
// the same host: another container's page), "cross-site", or "none" (typed, a bookmark).
std::string_view fetch_site(const Request& req) { return sv(req["Sec-Fetch-Site"]); }

// A request another site's page could have made the browser send, with the browser adding the
// cookie or cached Basic credentials: refused where it would act. Pages stay reachable from a
// link (a dashboard's "open coreX"): showing them changes nothing.
std::optional<Response> forged(const Request& req, const Target& target, const Presented& presented, const HttpContext& ctx) {
  bool api = target.path.starts_with("/api/");
  if (api && fetch_site(req) == "cross-site") return json_error(req, http::status::forbidden, "cross-site request refused");
  if (!mutating_route(target.path)) return std::nullopt;
  // A GET that acts (threefoldtech/corex's clients start processes so) only with the token in
  // the request itself: an <img> or a link of another page carries neither.
  if (req.method() == http::verb::get && !token_presented(ctx.credentials, presented))
    return json_error(req, http::status::forbidden, "a GET that changes something needs the token (Bearer or ?token=): use POST");
  if (req.method() == http::verb::post && !token_presented(ctx.credentials, presented)) {
    auto site = fetch_site(req);
    if (!site.empty() && site != "same-origin" && site != "none")
      return json_error(req, http::status::forbidden, "request from another site refused");
  }
  return std::nullopt;
}

// "/attach/12" → 12
std::optional<uint64_t> id_after(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return std::nullopt;
  return parse_uint<uint64_t>(path.substr(prefix.size()));
}

}  // namespace

Response handle_http(const Request& req, HttpContext& ctx) {
  auto target = parse_target(sv(req.target()));
  if (!target) return json_error(req, http::status::bad_request, target.error().message);
  const std::string& path = target->path;
  if (path.starts_with("/static/")) {
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return json_error(req, http::status::method_not_allowed, "method not allowed");
    return asset(req, std::string_view(path).substr(8));
  }
  if (path == "/favicon.ico") return asset(req, "favicon.svg");

  auto query_token = target->get("token");
  Presented given = presented(req, query_token);
  if (!authenticated(ctx.credentials, given)) return unauthorized(req, ctx.credentials);
  // A cross-site request carries no cookie (SameSite=Strict) but may carry cached Basic
  // credentials; one from another site's page is refused whatever it carries.
  if (!origin_allowed(sv(req[http::field::origin]), sv(req[http::field::host])))
    return json_error(req, http::status::forbidden, "cross-origin request refused");
  if (auto refused = forged(req, *target, given, ctx)) return std::move(*refused);

  // The token in the address of a page is moved into a cookie, and the browser sent back to the
  // address without it (so it stays out of the history and the page's links).
  if (query_token && !path.starts_with("/api/") && (req.method() == http::verb::get || req.method() == http::verb::head)) {
    Response res = make(req, http::status::see_other, "text/plain", "");
    res.set(http::field::location, target_without_token(*target));
    res.set(http::field::set_cookie, token_cookie(*query_token));
    res.set(http::field::cache_control, "no-store");
    return res;
  }

  if (path.starts_with("/api/")) {
    ApiResponse a = handle_api(ctx.table, sv(req.method_string()), *target, req.body());
    Response res = make(req, static_cast<http::status>(a.status), a.content_type, std::move(a.body));
    res.set(http::field::cache_control, "no-store");
    return res;
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return json_error(req, http::status::method_not_allowed, "method not allowed");
  if (path == "/" || path == "/index.html") return asset(req, "index.html");
  if (path.starts_with("/attach/")) {
    auto id = id_after(path, "/attach/");
    if (!id) return json_error(req, http::status::bad_request, "bad process id");
    if (!ctx.table.find(*id)) return json_error(req, http::status::not_found, "no process " + std::to_string(*id));
    return asset(req, "terminal.html");
  }
  return json_error(req, http::status::not_found, "no page " + printable(path));
}

std::variant<WebSocketTarget, Response> check_websocket(const Request& req, HttpContext& ctx) {
  auto target = parse_target(sv(req.target()));
  if (!target) return json_error(req, http::status::bad_request, target.error().message);
  auto query_token = target->get("token");
  if (!authenticated(ctx.credentials, presented(req, query_token)))
    return json_error(req, http::status::unauthorized, "authentication required");
  if (!origin_allowed(sv(req[http::field::origin]), sv(req[http::field::host])) || fetch_site(req) == "cross-site")
    return json_error(req, http::status::forbidden, "WebSocket from another origin refused");
  auto id = id_after(target->path, "/ws/");
  if (!id) return json_error(req, http::status::not_found, "no WebSocket at " + printable(target->path));
  if (!ctx.table.find(*id)) return json_error(req, http::status::not_found, "no process " + std::to_string(*id));
  WebSocketTarget out{*id, false};
  auto protocols = sv(req[http::field::sec_websocket_protocol]);
  if (!protocols.empty()) {
    for (const auto& p : split(protocols, ','))
      if (std::string_view(p).find("tty") != std::string_view::npos && p.find_first_not_of(" \ttty") == std::string::npos)
        out.tty_protocol = true;
    if (!out.tty_protocol) return json_error(req, http::status::bad_request, "the only subprotocol is tty");
  }
  return out;
}

}  // namespace tiffin::corex
