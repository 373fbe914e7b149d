// Routes of the Engine API: "METHOD /containers/{id}/json" patterns, matched segment by segment
// ({name} takes one non-empty segment, {name*} the rest of the path: image names hold '/').
// Pure, so the routing is unit-tested and fuzzed without a socket.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.hpp"

namespace tiffin::api {

using PathParams = std::map<std::string, std::string>;

// "a=1&b=x%20y" → {a: 1, b: x y}; a key may repeat. Undecodable pairs are dropped.
std::multimap<std::string, std::string> parse_query(std::string_view query);

template <class Handler>
class Router {
 public:
  void add(std::string method, std::string_view pattern, Handler h) {
    routes_.push_back({std::move(method), split(pattern), std::move(h)});
  }

  struct Match {
    const Handler* handler = nullptr;
    PathParams params;
    bool method_mismatch = false;  // the path exists under another method (405)
  };

  Match match(std::string_view method, std::string_view path) const {
    Match m;
    auto segments = split(path);
    for (const auto& r : routes_) {
      PathParams params;
      if (!matches(r.pattern, segments, params)) continue;
      if (r.method != method && !(method == "HEAD" && r.method == "GET")) {
        m.method_mismatch = true;
        continue;
      }
      m.handler = &r.handler;
      m.params = std::move(params);
      m.method_mismatch = false;
      return m;
    }
    return m;
  }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> pattern;
    Handler handler;
  };

  static std::vector<std::string> split(std::string_view p) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < p.size()) {
      if (p[i] == '/') {
        ++i;
        continue;
      }
      size_t j = p.find('/', i);
      out.emplace_back(p.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
      if (j == std::string_view::npos) break;
      i = j;
    }
    return out;
  }

  static bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments, PathParams& params) {
    for (size_t i = 0; i < pattern.size(); ++i) {
      const std::string& p = pattern[i];
      bool param = p.size() > 2 && p.front() == '{' && p.back() == '}';
      if (param && p[p.size() - 2] == '*') {
        // The rest of the path, at least one segment, then nothing may follow in the pattern
        // but literal suffix segments (e.g. {name*}/json): those are matched from the end.
        size_t tail = pattern.size() - i - 1;
        if (segments.size() < i + 1 + tail) return false;
        for (size_t t = 0; t < tail; ++t)
          if (pattern[i + 1 + t] != segments[segments.size() - tail + t]) return false;
        std::string joined;
        for (size_t s = i; s < segments.size() - tail; ++s) {
          auto d = percent_decode(segments[s], false);
          if (!d) return false;
          joined += (joined.empty() ? "" : "/") + *d;
        }
        params[p.substr(1, p.size() - 3)] = joined;
        return true;
      }
      if (i >= segments.size()) return false;
      if (param) {
        auto d = percent_decode(segments[i], false);
        if (!d || d->empty()) return false;
        params[p.substr(1, p.size() - 2)] = *d;
      } else if (p != segments[i]) {
        return false;
      }
    }
    return pattern.size() == segments.size();
  }

  std::vector<Route> routes_;
};

}  // namespace tiffin::api
