// A small epoll loop: a handler per file descriptor. Each registration gets a generation, so an
// event still queued for a descriptor that was closed (and whose number was reused) within the
// same batch never reaches the new owner's handler.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin::dns {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  // Makes the epoll instance; before anything else.
  Result<void> open();

  Result<void> watch(int fd, uint32_t events, Handler handler);
  Result<void> modify(int fd, uint32_t events);
  // Before the descriptor is closed.
  void unwatch(int fd);
  // Waits at most `timeout_ms` (-1: no limit) and runs the handlers of what became ready.
  Result<void> run_once(int timeout_ms);

 private:
  struct Entry {
    uint32_t generation;
    std::shared_ptr<Handler> handler;
  };
  UniqueFd epoll_;
  uint32_t generation_ = 0;
  std::unordered_map<int, Entry> entries_;
};

}  // namespace tiffin::dns
