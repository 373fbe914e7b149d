#include "dns/forward_table.hpp"

#include <sys/random.h>

namespace tiffin::dns {

ForwardTable::ForwardTable(size_t capacity, uint64_t seed) : capacity_(capacity), state_(seed) {
  if (state_ == 0 && ::getrandom(&state_, sizeof state_, 0) != sizeof state_)
    state_ = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  if (state_ == 0) state_ = 0x9E3779B97F4A7C15ull;
}

uint16_t ForwardTable::random_id() {
  // xorshift64*: fast and, seeded from getrandom, not predictable from outside.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<uint16_t>((state_ * 0x2545F4914F6CDD1Dull) >> 48);
}

std::optional<uint16_t> ForwardTable::add(PendingQuery q) {
  if (pending_.size() >= capacity_ || q.wire.size() < header_size) return std::nullopt;
  uint16_t id = random_id();
  while (pending_.contains(id)) id = random_id();  // capacity is far below 65536
  q.wire[0] = static_cast<uint8_t>(id >> 8);
  q.wire[1] = static_cast<uint8_t>(id);
  deadlines_.emplace_back(q.deadline, id);
  pending_.emplace(id, std::move(q));
  return id;
}

PendingQuery* ForwardTable::find(uint16_t id) {
  auto it = pending_.find(id);
  return it == pending_.end() ? nullptr : &it->second;
}

void ForwardTable::erase(uint16_t id) { pending_.erase(id); }

void ForwardTable::extend(uint16_t id, Clock::time_point deadline) {
  if (auto* p = find(id)) {
    p->deadline = deadline;
    deadlines_.emplace_back(deadline, id);
  }
}

void ForwardTable::drop_stale_front() {
  // An entry is live only if its query is still pending with exactly that deadline.
  while (!deadlines_.empty()) {
    auto [when, id] = deadlines_.front();
    auto* p = find(id);
    if (p && p->deadline == when) return;
    deadlines_.pop_front();
  }
}

std::vector<uint16_t> ForwardTable::expired(Clock::time_point now) {
  std::vector<uint16_t> out;
  for (drop_stale_front(); !deadlines_.empty() && deadlines_.front().first <= now; drop_stale_front()) {
    out.push_back(deadlines_.front().second);
    deadlines_.pop_front();
  }
  return out;
}

std::optional<Clock::time_point> ForwardTable::next_deadline() {
  drop_stale_front();
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.front().first;
}

}  // namespace tiffin::dns
