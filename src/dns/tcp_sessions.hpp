// The resolver's DNS-over-TCP clients. Each connection's queries are taken one at a time (the
// next is read once the previous is answered and written), each answered from the network the
// connection came in on or forwarded over a TCP connection of its own to the network's upstreams
// in turn (`upstream_timeout` each, a refused connection at once), SERVFAIL when none answered.
// Replies pass through as the upstream sent them. At most 256 connections; one idle for `idle`
// is closed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "dns/event_loop.hpp"
#include "dns/forward_table.hpp"  // Clock
#include "dns/zone.hpp"

namespace tiffin::dns {

class TcpSessions {
 public:
  // The network by name, as the resolver has it now (nullptr once it is gone).
  using Lookup = std::function<const Network*(const std::string& network)>;
  static constexpr size_t max_sessions = 256;

  TcpSessions(EventLoop& loop, Lookup lookup, std::chrono::milliseconds upstream_timeout, std::chrono::milliseconds idle);
  ~TcpSessions();
  TcpSessions(const TcpSessions&) = delete;
  TcpSessions& operator=(const TcpSessions&) = delete;

  // Accepts what waits on `listen_fd`, a listening socket of `network`'s.
  void accept_from(int listen_fd, const std::string& network);
  std::optional<Clock::time_point> next_deadline() const;
  // Upstreams that did not answer in time are given up on; idle connections closed.
  void on_timers(Clock::time_point now);

 private:
  struct Session;
  Session* session(uint64_t id);
  void event(uint64_t id, uint32_t events);
  void upstream_event(uint64_t id, uint32_t events);
  void process(uint64_t id);
  void start_upstream(uint64_t id);
  void upstream_failed(uint64_t id);
  void flush(uint64_t id);
  void close(uint64_t id);

  EventLoop& loop_;
  Lookup lookup_;
  std::chrono::milliseconds upstream_timeout_, idle_;
  std::map<uint64_t, std::unique_ptr<Session>> sessions_;
  uint64_t next_id_ = 1;
  uint32_t rotation_ = 0;
};

}  // namespace tiffin::dns
