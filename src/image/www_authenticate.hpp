// A 401's WWW-Authenticate challenge (RFC 7235): `Bearer realm="…",service="…",scope="…"` or
// `Basic realm="…"`. Private to the registry client; separate so it can be tested alone.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tiffin::image {

struct Challenge {
  std::string scheme;                         // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lowercase, values unquoted
  std::string param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? "" : it->second;
  }
};

// Every challenge in the header value, in order; unparsable text ends the list.
std::vector<Challenge> parse_www_authenticate(std::string_view value);

}  // namespace tiffin::image
