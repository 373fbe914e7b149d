#include "dns/tcp_sessions.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "dns/answer.hpp"
#include "dns/sockets.hpp"
#include "dns/tcp_stream.hpp"

namespace tiffin::dns {

struct TcpSessions::Session {
  UniqueFd client;
  std::string network;
  Bytes in, out;
  size_t out_sent = 0;
  bool client_eof = false;
  // The query being forwarded, and the connection to the upstream it is at.
  Bytes query;
  std::vector<Endpoint> upstreams;
  size_t upstream = 0;
  UniqueFd up;
  Bytes up_out, up_in;
  size_t up_sent = 0;
  bool up_connected = false;
  Clock::time_point deadline;
};

TcpSessions::TcpSessions(EventLoop& loop, Lookup lookup, std::chrono::milliseconds upstream_timeout, std::chrono::milliseconds idle)
    : loop_(loop), lookup_(std::move(lookup)), upstream_timeout_(upstream_timeout), idle_(idle) {}

TcpSessions::~TcpSessions() = default;

TcpSessions::Session* TcpSessions::session(uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void TcpSessions::accept_from(int listen_fd, const std::string& network) {
  for (;;) {
    UniqueFd c(::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!c) return;
    if (sessions_.size() >= max_sessions) continue;  // closed at once
    uint64_t id = next_id_++;
    auto s = std::make_unique<Session>();
    s->network = network;
    s->deadline = Clock::now() + idle_;
    int raw = c.get();
    if (!loop_.watch(raw, EPOLLIN, [this, id](uint32_t ev) { event(id, ev); })) continue;
    s->client = std::move(c);
    sessions_.emplace(id, std::move(s));
  }
}

std::optional<Clock::time_point> TcpSessions::next_deadline() const {
  std::optional<Clock::time_point> next;
  for (const auto& [id, s] : sessions_) next = next ? std::min(*next, s->deadline) : s->deadline;
  return next;
}

void TcpSessions::on_timers(Clock::time_point now) {
  std::vector<uint64_t> late;
  for (const auto& [id, s] : sessions_)
    if (s->deadline <= now) late.push_back(id);
  for (uint64_t id : late) {
    if (sessions_[id]->up) {
      upstream_failed(id);
    } else {
      close(id);
    }
  }
}

void TcpSessions::close(uint64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  if (it->second->up) loop_.unwatch(it->second->up.get());
  loop_.unwatch(it->second->client.get());
  sessions_.erase(it);
}

void TcpSessions::event(uint64_t id, uint32_t events) {
  Session* found = session(id);
  if (!found) return;
  Session& s = *found;
  if (events & (EPOLLHUP | EPOLLERR)) return close(id);  // gone both ways: nobody to answer
  if (events & EPOLLOUT) {
    flush(id);
    if (!sessions_.contains(id)) return;
  }
  if (events & EPOLLIN) {
    // At most one whole query ahead is buffered; the rest waits in the socket.
    if (read_available(s.client.get(), s.in, 2 + 65535) == ReadStatus::closed) s.client_eof = true;
    s.deadline = Clock::now() + idle_;
  }
  process(id);
}

void TcpSessions::process(uint64_t id) {
  Session* found = session(id);
  if (!found) return;
  Session& s = *found;
  while (!s.up) {
    auto frame = complete_frame(s.in);
    if (!frame) break;
    Bytes query(s.in.begin() + 2, s.in.begin() + static_cast<ptrdiff_t>(*frame));
    s.in.erase(s.in.begin(), s.in.begin() + static_cast<ptrdiff_t>(*frame));
    const Network* net = lookup_(s.network);
    if (!net) return close(id);
    Decision d = decide(net->zone, query, 65535, !net->file.upstreams.empty(), rotation_++);
    if (d.kind == Decision::Kind::drop || (d.kind == Decision::Kind::reply && d.reply.empty())) return close(id);
    if (d.kind == Decision::Kind::reply) {
      append_frame(s.out, d.reply);
      continue;
    }
    s.query = std::move(query);
    s.upstreams = net->file.upstreams;
    s.upstream = 0;
    start_upstream(id);
    if (!sessions_.contains(id)) return;
  }
  flush(id);
}

void TcpSessions::start_upstream(uint64_t id) {
  Session& s = *sessions_[id];
  for (; s.upstream < s.upstreams.size(); ++s.upstream) {
    auto fd = connect_tcp(s.upstreams[s.upstream]);
    if (!fd) continue;
    int raw = fd->get();
    if (!loop_.watch(raw, EPOLLOUT, [this, id](uint32_t ev) { upstream_event(id, ev); })) continue;
    s.up = std::move(*fd);
    s.up_connected = false;
    s.up_out.clear();
    append_frame(s.up_out, s.query);
    s.up_sent = 0;
    s.up_in.clear();
    s.deadline = Clock::now() + upstream_timeout_;
    return;
  }
  // No upstream left: SERVFAIL, and the session goes on with the next query.
  append_frame(s.out, error_reply(s.query, rcode::servfail));
  s.deadline = Clock::now() + idle_;
}

void TcpSessions::upstream_failed(uint64_t id) {
  Session& s = *sessions_[id];
  loop_.unwatch(s.up.get());
  s.up.reset();
  ++s.upstream;
  start_upstream(id);
  process(id);
}

void TcpSessions::upstream_event(uint64_t id, uint32_t events) {
  Session* found = session(id);
  if (!found || !found->up) return;
  Session& s = *found;
  if (events & EPOLLERR) return upstream_failed(id);
  if (!s.up_connected && (events & EPOLLOUT)) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(s.up.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return upstream_failed(id);
    s.up_connected = true;
  }
  if (s.up_connected && s.up_sent < s.up_out.size()) {
    ssize_t n = ::send(s.up.get(), s.up_out.data() + s.up_sent, s.up_out.size() - s.up_sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return upstream_failed(id);
    if (n > 0) s.up_sent += static_cast<size_t>(n);
    if (s.up_sent == s.up_out.size()) (void)loop_.modify(s.up.get(), EPOLLIN);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP)) {
    ReadStatus st = read_available(s.up.get(), s.up_in, 2 + 65535);
    auto frame = complete_frame(s.up_in);
    if (!frame) {
      if (st == ReadStatus::closed) upstream_failed(id);  // closed before a whole reply
      return;                                             // else more to come
    }
    // The reply to this query (same id), which passes through as it is.
    if (*frame < 2 + header_size || s.up_in[2] != s.query[0] || s.up_in[3] != s.query[1]) return upstream_failed(id);
    s.out.insert(s.out.end(), s.up_in.begin(), s.up_in.begin() + static_cast<ptrdiff_t>(*frame));
    loop_.unwatch(s.up.get());
    s.up.reset();
    s.deadline = Clock::now() + idle_;
    process(id);
  }
}

void TcpSessions::flush(uint64_t id) {
  Session* found = session(id);
  if (!found) return;
  Session& s = *found;
  while (s.out_sent < s.out.size()) {
    ssize_t n = ::send(s.client.get(), s.out.data() + s.out_sent, s.out.size() - s.out_sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) return close(id);
    s.out_sent += static_cast<size_t>(n);
  }
  if (s.out_sent == s.out.size()) {
    s.out.clear();
    s.out_sent = 0;
  }
  bool waiting = !s.out.empty();
  if (s.client_eof && !waiting && !s.up) return close(id);
  // Read the next query only when this one is answered and written (one at a time per client).
  uint32_t want = (waiting ? uint32_t(EPOLLOUT) : 0u) | (!s.up && !s.client_eof && !waiting ? uint32_t(EPOLLIN) : 0u);
  (void)loop_.modify(s.client.get(), want);
}

}  // namespace tiffin::dns
