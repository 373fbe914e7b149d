#include "hub/client_limits.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace tiffin::hub {

std::string ClientLimits::client_key(const std::string& address) {
  in6_addr v6{};
  if (address.find(':') == std::string::npos || ::inet_pton(AF_INET6, address.c_str(), &v6) != 1) return address;
  // A v4-mapped address is its v4 self.
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    char v4[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, &v6.s6_addr[12], v4, sizeof v4)) return v4;
  }
  std::fill(std::begin(v6.s6_addr) + 8, std::end(v6.s6_addr), 0);
  char text[INET6_ADDRSTRLEN];
  if (!::inet_ntop(AF_INET6, &v6, text, sizeof text)) return address;
  return std::string(text) + "/64";
}

bool ClientLimits::open_connection(const std::string& client) {
  std::lock_guard lock(mu_);
  // Clients that left are forgotten now and then, once their bucket has refilled, so the map
  // stays the size of the clients that are here.
  if (++opens_ % 1024 == 0) sweep(Clock::now());
  Entry& e = clients_[client];
  if (o_.max_connections_per_client != 0 && e.connections >= o_.max_connections_per_client) return false;
  ++e.connections;
  return true;
}

void ClientLimits::close_connection(const std::string& client) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(client);
  if (it != clients_.end() && it->second.connections > 0) --it->second.connections;
}

std::optional<std::chrono::milliseconds> ClientLimits::admit_request(const std::string& client, Clock::time_point now) {
  if (o_.requests_per_second <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  Entry& e = clients_[client];
  refill(e, now);
  if (e.tokens >= 1) {
    e.tokens -= 1;
    return std::nullopt;
  }
  double wait = (1 - e.tokens) / o_.requests_per_second;
  return std::chrono::milliseconds(int64_t(wait * 1000) + 1);
}

void ClientLimits::refill(Entry& e, Clock::time_point now) const {
  double burst = std::max(o_.request_burst, 1.0);
  if (!e.bucket_started) {
    e.tokens = burst;
    e.bucket_started = true;
  } else if (now > e.refilled) {
    e.tokens = std::min(burst, e.tokens + std::chrono::duration<double>(now - e.refilled).count() * o_.requests_per_second);
  }
  e.refilled = std::max(e.refilled, now);
}

void ClientLimits::sweep(Clock::time_point now) {
  double burst = std::max(o_.request_burst, 1.0);
  for (auto it = clients_.begin(); it != clients_.end();) {
    Entry& e = it->second;
    bool idle = e.connections == 0;
    if (idle && e.bucket_started && o_.requests_per_second > 0) {
      refill(e, now);
      idle = e.tokens >= burst;
    }
    it = idle ? clients_.erase(it) : std::next(it);
  }
}

unsigned ClientLimits::connections(const std::string& client) const {
  std::lock_guard lock(mu_);
  auto it = clients_.find(client);
  return it == clients_.end() ? 0 : it->second.connections;
}

size_t ClientLimits::tracked_clients() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

void ClientLimits::forget_idle(Clock::time_point now) {
  std::lock_guard lock(mu_);
  sweep(now);
}

}  // namespace tiffin::hub
