// PUBLISHes messages to one Redis channel and keeps doing so across outages: messages queue
// (bounded; the oldest are dropped first) while the server is away, and go out once a
// reconnection succeeds. Connections are retried with a growing delay (0.25 s … 5 s) so a dead
// server costs the shim nothing between attempts. Single-threaded: the shim's loop calls flush().
//
// It speaks the few lines of Redis's protocol it needs (AUTH, PUBLISH as RESP arrays; the
// single-line replies +OK, -ERR …, :<n>) itself rather than through hiredis, whose resolver
// (getaddrinfo with NSS and dlopen) would be most of the static shim's memory. So the host must
// be an address: the engine resolves names before it starts the shim.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include "shim/redis_url.hpp"

namespace tiffin::shim {

class RedisPublisher {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RedisPublisher(RedisUrl url, size_t max_queued = 10000) : url_(std::move(url)), max_queued_(max_queued) {}
  ~RedisPublisher();
  RedisPublisher(const RedisPublisher&) = delete;
  RedisPublisher& operator=(const RedisPublisher&) = delete;

  void publish(std::string message);
  // Sends what is queued (pipelined) when connected, or when a retry is due. Never throws; a
  // failed send keeps the unconfirmed messages for the next attempt.
  void flush(Clock::time_point now = Clock::now());

  size_t queued() const { return queue_.size(); }
  // When flush() should next run to retry (meaningful while queued() > 0 and not connected).
  Clock::time_point next_retry() const { return next_retry_; }
  const RedisUrl& url() const { return url_; }

 private:
  bool connect(Clock::time_point now);
  void disconnect(Clock::time_point now);

  RedisUrl url_;
  size_t max_queued_;
  std::deque<std::string> queue_;
  int fd_ = -1;
  Clock::time_point next_retry_{};
  std::chrono::milliseconds backoff_{250};
};

}  // namespace tiffin::shim
