#include "corex/auth.hpp"

#include <algorithm>
#include <cctype>

#include "common/base64.hpp"

namespace tiffin::corex {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

// "Scheme value" → value when the scheme matches (case-insensitive).
std::optional<std::string_view> auth_param(std::string_view header, std::string_view scheme) {
  header = trim(header);
  size_t sp = header.find(' ');
  if (sp == std::string_view::npos || !iequals(header.substr(0, sp), scheme)) return std::nullopt;
  return trim(header.substr(sp + 1));
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer string is looked at whatever the content; only the lengths show.
  size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view part = trim(header.substr(0, semi));
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && trim(part.substr(0, eq)) == name) return std::string(trim(part.substr(eq + 1)));
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::string token_cookie(std::string_view token) {
  return std::string(kTokenCookie) + "=" + std::string(token) + "; Path=/; HttpOnly; SameSite=Strict";
}

bool authenticated(const Credentials& c, const Presented& p) {
  bool ok = false;
  if (!c.token.empty()) {
    if (auto bearer = auth_param(p.authorization, "Bearer")) ok |= constant_time_equal(*bearer, c.token);
    if (!p.query_token.empty()) ok |= constant_time_equal(p.query_token, c.token);
    if (auto cookie = cookie_value(p.cookie, kTokenCookie)) ok |= constant_time_equal(*cookie, c.token);
  }
  if (!c.basic_user.empty()) {
    if (auto basic = auth_param(p.authorization, "Basic")) {
      if (auto decoded = base64_decode(*basic)) {
        size_t colon = decoded->find(':');
        if (colon != std::string::npos) {
          // Both compared, always: which one was wrong does not show in the time taken.
          bool user = constant_time_equal(std::string_view(*decoded).substr(0, colon), c.basic_user);
          bool pass = constant_time_equal(std::string_view(*decoded).substr(colon + 1), c.basic_password);
          ok |= user & pass;
        }
      }
    }
  }
  return ok;
}

bool token_presented(const Credentials& c, const Presented& p) {
  return authenticated(Credentials{c.token, "", ""}, Presented{p.authorization, "", p.query_token});
}

bool origin_allowed(std::string_view origin, std::string_view host) {
  if (origin.empty()) return true;
  for (std::string_view scheme : {"http://", "https://"})
    if (origin.starts_with(scheme)) return !host.empty() && iequals(origin.substr(scheme.size()), host);
  return false;
}

}  // namespace tiffin::corex
