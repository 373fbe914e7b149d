// What the hub counts, and its /metrics page in the Prometheus text format (version 0.0.4):
// requests by route and status class, their latency, bytes in and out, open connections, and
// refusals by reason. Lock-free counters: every request of every thread updates them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace tiffin::hub {

enum class HubRoute { block, flist, api, metrics, other };
enum class Refusal {
  connections,         // the hub holds its maximum of connections
  client_connections,  // this client holds its maximum
  request_rate,        // this client's requests/s
  busy,                // the worker queue or the memory for request bodies is full
  header_timeout,      // a request's header did not arrive in time (slowloris)
  body_rate,           // a request body came slower than the minimum rate
  too_large,           // header or body over its limit
};

// The route a request's target belongs to, for counting ("/api/…", "/<aa>/<hex>", "….fl").
HubRoute classify_route(std::string_view target);

class HubMetrics {
 public:
  static constexpr std::array<double, 14> kBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

  void request(HubRoute route, unsigned status, double seconds);
  void received(uint64_t bytes) { received_.fetch_add(bytes, std::memory_order_relaxed); }
  void sent(uint64_t bytes) { sent_.fetch_add(bytes, std::memory_order_relaxed); }
  void connection_opened() {
    accepted_.fetch_add(1, std::memory_order_relaxed);
    open_.fetch_add(1, std::memory_order_relaxed);
  }
  void connection_closed() { open_.fetch_sub(1, std::memory_order_relaxed); }
  void refused(Refusal why) { refusals_[size_t(why)].fetch_add(1, std::memory_order_relaxed); }

  int64_t open_connections() const { return open_.load(std::memory_order_relaxed); }
  uint64_t refusals(Refusal why) const { return refusals_[size_t(why)].load(std::memory_order_relaxed); }
  uint64_t requests(HubRoute route) const;

  std::string render() const;

 private:
  static constexpr size_t kRoutes = 5, kClasses = 5, kReasons = 7;
  struct Latency {
    // Not cumulative; render() sums them, so +Inf and _count are never below a bucket.
    std::array<std::atomic<uint64_t>, kBuckets.size()> buckets{};
    std::atomic<uint64_t> overflow{0}, sum_ns{0};
  };
  std::array<std::array<std::atomic<uint64_t>, kClasses>, kRoutes> requests_{};
  std::array<Latency, kRoutes> latency_{};
  std::array<std::atomic<uint64_t>, kReasons> refusals_{};
  std::atomic<uint64_t> received_{0}, sent_{0}, accepted_{0};
  std::atomic<int64_t> open_{0};
};

}  // namespace tiffin::hub
