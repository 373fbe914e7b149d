// Who may use coreX (threefoldtech/corex had no authentication; tiffin's requires it): a token
// (the engine makes one per start and prints it with the URL) presented as
// `Authorization: Bearer T`, as `?token=T` (the first page load turns it into a cookie) or as
// the `corex_token` cookie; or HTTP Basic credentials (`-c user:pass`). Secrets are compared in
// constant time. WebSocket handshakes from a browser must come from coreX's own origin.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tiffin::corex {

inline constexpr std::string_view kTokenCookie = "corex_token";

struct Credentials {
  std::string token;                       // empty: no token accepted
  std::string basic_user, basic_password;  // -c user:pass; empty user: no Basic
  bool any() const { return !token.empty() || !basic_user.empty(); }
};

// What a request carried (any may be empty).
struct Presented {
  std::string_view authorization;  // the Authorization header
  std::string_view cookie;         // the Cookie header
  std::string_view query_token;    // ?token=
};

// Equal strings, in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);
bool authenticated(const Credentials& c, const Presented& p);
// The token itself was presented, by `Authorization: Bearer` or `?token=`: what a browser never
// adds on its own to another site's request (a cookie and cached Basic credentials it does).
bool token_presented(const Credentials& c, const Presented& p);

// The value of cookie `name` in a Cookie header ("a=1; corex_token=x").
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);
// Set-Cookie for the token: HttpOnly, SameSite=Strict (no other site's page sends it), Path=/.
std::string token_cookie(std::string_view token);

// A browser's Origin is allowed when it names the host the request went to (scheme http or
// https, host and port as in the Host header). No Origin (a client that is not a browser) is
// allowed; "null" and other sites are not.
bool origin_allowed(std::string_view origin, std::string_view host);

}  // namespace tiffin::corex
