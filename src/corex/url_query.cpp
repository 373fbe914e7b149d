#include "corex/url_query.hpp"

#include "common/text.hpp"

namespace tiffin::corex {

Result<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  auto out = tiffin::percent_decode(s, plus_is_space);
  if (!out) return fail(Errc::invalid_input, "bad %-escape in '" + printable(s) + "'");
  return *out;
}

Result<Target> parse_target(std::string_view target) {
  Target t;
  size_t q = target.find('?');
  t.path = TRY(percent_decode(target.substr(0, q), false));
  if (q == std::string_view::npos) return t;
  std::string_view query = target.substr(q + 1);
  size_t hash = query.find('#');
  if (hash != std::string_view::npos) query = query.substr(0, hash);
  for (const std::string& part : split(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string key = TRY(percent_decode(std::string_view(part).substr(0, eq), true));
    std::string value = eq == std::string::npos ? "" : TRY(percent_decode(std::string_view(part).substr(eq + 1), true));
    t.params.emplace_back(std::move(key), std::move(value));
  }
  return t;
}

std::optional<std::string> Target::get(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return std::nullopt;
}

std::vector<std::string> Target::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : params)
    if (k == name) out.push_back(v);
  return out;
}

std::string target_without_token(const Target& t) {
  // Each path segment encoded again: what was decoded may not go into a header raw.
  std::string out;
  for (const std::string& segment : split(t.path, '/')) out += (out.empty() && segment.empty() ? "" : "/") + percent_encode(segment);
  if (out.empty()) out = "/";
  char sep = '?';
  for (const auto& [k, v] : t.params) {
    if (k == "token") continue;
    out += sep + percent_encode(k) + "=" + percent_encode(v);
    sep = '&';
  }
  return out;
}

}  // namespace tiffin::corex
