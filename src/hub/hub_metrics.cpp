#include "hub/hub_metrics.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace tiffin::hub {
namespace {

constexpr std::array<const char*, 5> kRouteNames{"block", "flist", "api", "metrics", "other"};
constexpr std::array<const char*, 7> kReasonNames{
    "connections", "client_connections", "request_rate", "busy", "header_timeout", "body_rate", "too_large"};

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

HubRoute classify_route(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.starts_with("/api/")) return HubRoute::api;
  if (target == "/metrics") return HubRoute::metrics;
  if (target.ends_with(".fl") || target.ends_with(".fl.md5")) return HubRoute::flist;
  size_t slash = target.rfind('/');
  if (slash != std::string_view::npos && is_hex64(target.substr(slash + 1))) return HubRoute::block;
  return HubRoute::other;
}

void HubMetrics::request(HubRoute route, unsigned status, double seconds) {
  size_t r = size_t(route);
  size_t cls = std::clamp<unsigned>(status / 100, 1, 5) - 1;
  requests_[r][cls].fetch_add(1, std::memory_order_relaxed);
  Latency& l = latency_[r];
  size_t b = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin();
  (b < kBuckets.size() ? l.buckets[b] : l.overflow).fetch_add(1, std::memory_order_relaxed);
  l.sum_ns.fetch_add(uint64_t(std::max(seconds, 0.0) * 1e9), std::memory_order_relaxed);
}

uint64_t HubMetrics::requests(HubRoute route) const {
  uint64_t n = 0;
  for (const auto& c : requests_[size_t(route)]) n += c.load(std::memory_order_relaxed);
  return n;
}

std::string HubMetrics::render() const {
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out += '\n';
  };
  line("# HELP tiffin_hub_requests_total Requests answered, by route and status class.");
  line("# TYPE tiffin_hub_requests_total counter");
  for (size_t r = 0; r < kRoutes; ++r)
    for (size_t c = 0; c < kClasses; ++c)
      line(fmt::format("tiffin_hub_requests_total{{route=\"{}\",code=\"{}xx\"}} {}", kRouteNames[r], c + 1,
          requests_[r][c].load(std::memory_order_relaxed)));
  line("# HELP tiffin_hub_request_duration_seconds From a request's complete header to the last byte of its answer handed to the kernel.");
  line("# TYPE tiffin_hub_request_duration_seconds histogram");
  for (size_t r = 0; r < kRoutes; ++r) {
    const Latency& l = latency_[r];
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += l.buckets[b].load(std::memory_order_relaxed);
      line(fmt::format("tiffin_hub_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}", kRouteNames[r], kBuckets[b], cumulative));
    }
    uint64_t count = cumulative + l.overflow.load(std::memory_order_relaxed);
    line(fmt::format("tiffin_hub_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}", kRouteNames[r], count));
    line(fmt::format("tiffin_hub_request_duration_seconds_sum{{route=\"{}\"}} {:.6f}", kRouteNames[r],
        double(l.sum_ns.load(std::memory_order_relaxed)) / 1e9));
    line(fmt::format("tiffin_hub_request_duration_seconds_count{{route=\"{}\"}} {}", kRouteNames[r], count));
  }
  line("# HELP tiffin_hub_received_bytes_total Request bodies received.");
  line("# TYPE tiffin_hub_received_bytes_total counter");
  line(fmt::format("tiffin_hub_received_bytes_total {}", received_.load(std::memory_order_relaxed)));
  line("# HELP tiffin_hub_sent_bytes_total Response bodies sent.");
  line("# TYPE tiffin_hub_sent_bytes_total counter");
  line(fmt::format("tiffin_hub_sent_bytes_total {}", sent_.load(std::memory_order_relaxed)));
  line("# HELP tiffin_hub_open_connections Connections open now.");
  line("# TYPE tiffin_hub_open_connections gauge");
  line(fmt::format("tiffin_hub_open_connections {}", open_.load(std::memory_order_relaxed)));
  line("# HELP tiffin_hub_connections_total Connections accepted.");
  line("# TYPE tiffin_hub_connections_total counter");
  line(fmt::format("tiffin_hub_connections_total {}", accepted_.load(std::memory_order_relaxed)));
  line("# HELP tiffin_hub_refusals_total Connections and requests refused or cut, by reason.");
  line("# TYPE tiffin_hub_refusals_total counter");
  for (size_t i = 0; i < kReasons; ++i)
    line(fmt::format("tiffin_hub_refusals_total{{reason=\"{}\"}} {}", kReasonNames[i], refusals_[i].load(std::memory_order_relaxed)));
  return out;
}

}  // namespace tiffin::hub
