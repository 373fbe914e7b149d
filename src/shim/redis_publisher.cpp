#include "shim/redis_publisher.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace tiffin::shim {
namespace {

constexpr int kConnectTimeoutMs = 300;
constexpr int kReplyTimeoutMs = 1000;
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr size_t kBatch = 256;  // messages per pipelined round trip

// A command as a RESP array of bulk strings.
std::string command(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out.append(a);
    out += "\r\n";
  }
  return out;
}

// A non-blocking connect to a numeric address, bounded in time.
int connect_to(const RedisUrl& url) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, url.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(url.port));
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, url.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(url.port));
    len = sizeof *v6;
  } else {
    return -1;  // not an address: the engine resolves names before starting the shim
  }
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t elen = sizeof err;
  if (::poll(&p, 1, kConnectTimeoutMs) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, kReplyTimeoutMs) == 1) continue;
    }
    return false;
  }
  return true;
}

// Reads `count` single-line replies ("+…", ":…" or "-…"); how many arrived, and whether all of
// them were not errors. Bulk or array replies do not answer AUTH or PUBLISH: they end the read.
size_t read_replies(int fd, size_t count, bool& all_ok) {
  all_ok = true;
  std::string buf;
  size_t got = 0;
  while (got < count) {
    size_t eol;
    while (got < count && (eol = buf.find("\r\n")) != std::string::npos) {
      char type = buf.empty() ? 0 : buf[0];
      if (type != '+' && type != ':' && type != '-') return got;
      all_ok = all_ok && type != '-';
      buf.erase(0, eol + 2);
      ++got;
    }
    if (got == count) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kReplyTimeoutMs) != 1) return got;
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return got;
    buf.append(chunk, static_cast<size_t>(n));
  }
  return got;
}

}  // namespace

RedisPublisher::~RedisPublisher() {
  if (fd_ >= 0) ::close(fd_);
}

void RedisPublisher::publish(std::string message) {
  if (queue_.size() >= max_queued_) queue_.pop_front();
  queue_.push_back(std::move(message));
}

void RedisPublisher::disconnect(Clock::time_point now) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  next_retry_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

bool RedisPublisher::connect(Clock::time_point now) {
  if (fd_ >= 0) return true;
  if (now < next_retry_) return false;
  fd_ = connect_to(url_);
  if (fd_ < 0) {
    disconnect(now);
    return false;
  }
  if (!url_.password.empty()) {
    bool ok = false;
    if (!send_all(fd_, command({"AUTH", url_.password})) || read_replies(fd_, 1, ok) != 1 || !ok) {
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
    std::string batch;
    for (size_t i = 0; i < n; ++i) batch += command({"PUBLISH", url_.channel, queue_[i]});
    bool ok = true;
    size_t confirmed = send_all(fd_, batch) ? read_replies(fd_, n, ok) : 0;
    // Whatever was confirmed is gone from the queue; the rest is sent again later.
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(confirmed));
    if (confirmed < n) {
      disconnect(now);
      return;
    }
  }
}

}  // namespace tiffin::shim
