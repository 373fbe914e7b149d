// The UDP queries tiffin-dns has forwarded and not yet answered, by the id it gave them. Clients
// choose their own ids, and two clients (or two networks) may choose the same one, so every
// forwarded query gets a fresh random id from here; the reply's id finds the client again. Ids
// are unpredictable, which (with the check that a reply comes from the upstream asked and names
// the question asked) makes a spoofed reply a guess of 16 bits plus the port.
//
// Every query waits the same time, so deadlines come in insertion order: a queue of
// (deadline, id) gives the next expiry in O(1); entries of answered or re-sent queries are
// skipped when they reach the front.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns/dns_message.hpp"
#include "dns/network_file.hpp"

namespace tiffin::dns {

using Clock = std::chrono::steady_clock;

struct PendingQuery {
  uint16_t client_id = 0;
  Endpoint listener;  // the address it came in on: the reply leaves from there
  sockaddr_storage client{};
  socklen_t client_len = 0;
  std::string network;
  std::vector<Endpoint> upstreams;  // the network's, as they were when the query came
  size_t upstream = 0;              // the one asked now
  Question question;
  Bytes wire;  // the query with the table's id, to send to the next upstream
  Clock::time_point deadline;
};

class ForwardTable {
 public:
  explicit ForwardTable(size_t capacity = 4096, uint64_t seed = 0);

  // Stores `q` under a fresh id (written into q.wire's header too) and returns it; nullopt when
  // `capacity` queries are pending already.
  std::optional<uint16_t> add(PendingQuery q);
  PendingQuery* find(uint16_t id);
  void erase(uint16_t id);
  // Moves `id`'s deadline (it was sent to the next upstream).
  void extend(uint16_t id, Clock::time_point deadline);

  // The ids whose deadline is at or before `now` (each once; they stay in the table until erased
  // or extended), and the next deadline still ahead.
  std::vector<uint16_t> expired(Clock::time_point now);
  std::optional<Clock::time_point> next_deadline();
  size_t size() const { return pending_.size(); }

 private:
  uint16_t random_id();
  void drop_stale_front();

  size_t capacity_;
  uint64_t state_;
  std::unordered_map<uint16_t, PendingQuery> pending_;
  std::deque<std::pair<Clock::time_point, uint16_t>> deadlines_;
};

}  // namespace tiffin::dns
