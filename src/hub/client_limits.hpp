// Per-client bookkeeping that keeps one client from starving the others: how many connections
// each address holds, and a token bucket of requests per address. Pure logic with the clock
// passed in, so the rules are testable without sockets or sleeping.
//
// A client is an IPv4 address, or the /64 an IPv6 address is in: one host routinely holds a
// whole /64, so counting single v6 addresses would let it multiply its share for free.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace tiffin::hub {

struct ClientLimitOptions {
  unsigned max_connections_per_client = 512;  // 0: no limit
  double requests_per_second = 2000;          // sustained, per client; 0: no limit
  double request_burst = 4000;                // the bucket's size
};

class ClientLimits {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ClientLimits(ClientLimitOptions o) : o_(o) {}

  // The key of an address as text ("127.0.0.1", "2001:db8::1" → "2001:db8:0:0::/64").
  static std::string client_key(const std::string& address);

  // Counts a new connection of `client`; false (and nothing counted) when it holds its maximum.
  bool open_connection(const std::string& client);
  void close_connection(const std::string& client);
  // Takes one request from `client`'s bucket at `now`: nullopt when admitted, else how long
  // until a request would be (for Retry-After).
  std::optional<std::chrono::milliseconds> admit_request(const std::string& client, Clock::time_point now);

  unsigned connections(const std::string& client) const;
  size_t tracked_clients() const;
  // Forgets clients with no connection and a full bucket (also done every 1024 opens).
  void forget_idle(Clock::time_point now);

 private:
  struct Entry {
    unsigned connections = 0;
    double tokens = 0;
    Clock::time_point refilled{};
    bool bucket_started = false;
  };
  void refill(Entry& e, Clock::time_point now) const;
  void sweep(Clock::time_point now);

  ClientLimitOptions o_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> clients_;
  uint64_t opens_ = 0;
};

}  // namespace tiffin::hub
