#include "dns/event_loop.hpp"

#include <unistd.h>

namespace tiffin::dns {

namespace {
uint64_t tag(int fd, uint32_t generation) { return uint64_t(generation) << 32 | static_cast<uint32_t>(fd); }
}  // namespace

Result<void> EventLoop::open() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return fail_errno("epoll_create1");
  return {};
}

Result<void> EventLoop::watch(int fd, uint32_t events, Handler handler) {
  uint32_t gen = ++generation_;
  struct epoll_event ev {};
  ev.events = events;
  ev.data.u64 = tag(fd, gen);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return fail_errno("epoll_ctl ADD");
  entries_[fd] = {gen, std::make_shared<Handler>(std::move(handler))};
  return {};
}

Result<void> EventLoop::modify(int fd, uint32_t events) {
  auto it = entries_.find(fd);
  if (it == entries_.end()) return fail(Errc::internal, "epoll: modifying an unwatched descriptor");
  struct epoll_event ev {};
  ev.events = events;
  ev.data.u64 = tag(fd, it->second.generation);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return fail_errno("epoll_ctl MOD");
  return {};
}

void EventLoop::unwatch(int fd) {
  if (entries_.erase(fd)) (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Result<void> EventLoop::run_once(int timeout_ms) {
  struct epoll_event events[64];
  int n = ::epoll_wait(epoll_.get(), events, 64, timeout_ms);
  if (n < 0) return errno == EINTR ? Result<void>{} : fail_errno("epoll_wait");
  for (int i = 0; i < n; ++i) {
    int fd = static_cast<int>(static_cast<uint32_t>(events[i].data.u64));
    uint32_t gen = static_cast<uint32_t>(events[i].data.u64 >> 32);
    auto it = entries_.find(fd);
    if (it == entries_.end() || it->second.generation != gen) continue;
    auto handler = it->second.handler;  // kept alive even if the handler unwatches itself
    (*handler)(events[i].events);
  }
  return {};
}

}  // namespace tiffin::dns
