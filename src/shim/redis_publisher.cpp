#include "shim/redis_publisher.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>

namespace tiffin::shim {
namespace {
constexpr timeval kConnectTimeout{0, 300 * 1000};
constexpr timeval kCommandTimeout{1, 0};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr size_t kBatch = 256;  // messages per pipelined round trip
}  // namespace

RedisPublisher::~RedisPublisher() {
  if (ctx_) redisFree(ctx_);
}

void RedisPublisher::publish(std::string message) {
  if (queue_.size() >= max_queued_) {
    queue_.pop_front();
  }
  queue_.push_back(std::move(message));
}

void RedisPublisher::disconnect(Clock::time_point now) {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
  next_retry_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

bool RedisPublisher::connect(Clock::time_point now) {
  if (ctx_) return true;
  if (now < next_retry_) return false;
  ctx_ = redisConnectWithTimeout(url_.host.c_str(), url_.port, kConnectTimeout);
  if (!ctx_ || ctx_->err || redisSetTimeout(ctx_, kCommandTimeout) != REDIS_OK) {
    disconnect(now);
    return false;
  }
  if (!url_.password.empty()) {
    auto* reply = static_cast<redisReply*>(redisCommand(ctx_, "AUTH %b", url_.password.data(), url_.password.size()));
    bool ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (reply) freeReplyObject(reply);
    if (!ok) {
      disconnect(now);
      return false;
    }
  }
  backoff_ = std::chrono::milliseconds(250);
  return true;
}

void RedisPublisher::flush(Clock::time_point now) {
  while (!queue_.empty()) {
    if (!connect(now)) return;
    size_t n = std::min(queue_.size(), kBatch);
    for (size_t i = 0; i < n; ++i)
      redisAppendCommand(ctx_, "PUBLISH %b %b", url_.channel.data(), url_.channel.size(), queue_[i].data(),
                         queue_[i].size());
    for (size_t i = 0; i < n; ++i) {
      void* reply = nullptr;
      if (redisGetReply(ctx_, &reply) != REDIS_OK) {
        // Whatever was confirmed is gone from the queue; the rest is sent again later.
        disconnect(now);
        return;
      }
      freeReplyObject(reply);
      queue_.pop_front();
    }
  }
}

}  // namespace tiffin::shim
