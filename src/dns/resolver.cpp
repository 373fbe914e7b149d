#include "dns/resolver.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>

#include "dns/answer.hpp"
#include "dns/event_loop.hpp"
#include "dns/forward_table.hpp"
#include "dns/resolver_control.hpp"
#include "dns/sockets.hpp"
#include "dns/tcp_sessions.hpp"
#include "dns/zone.hpp"

namespace tiffin::dns {

namespace {

using std::chrono::milliseconds;

void log(const std::string& message) {
  std::time_t t = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  std::fprintf(stderr, "%s tiffin-dns[%d]: %s\n", when, static_cast<int>(::getpid()), message.c_str());
}

using Networks = std::map<std::string, std::shared_ptr<const Network>>;

struct Listener {
  std::string network;
  UniqueFd udp, tcp;
  bool failure_logged = false;
};

constexpr size_t udp_buffer = 65536;

class Resolver {
 public:
  Resolver(const ResolverOptions& o, UniqueFd lock) : opt_(o), lock_(std::move(lock)) {}

  Result<void> run();

 private:
  Result<void> setup();
  void reload();
  Networks read_directory(size_t& files_seen);
  void update_listeners();
  void try_bind(const Endpoint& e, Listener& l);
  void close_listener(Listener& l);
  const Network* network_of(const std::string& name) const;
  void on_inotify();
  void on_signal();
  void on_udp_query(const Endpoint& at, int fd);
  void forward_udp(const Endpoint& at, const Network& n, std::span<const uint8_t> query, const SocketAddress& from);
  bool send_upstream(PendingQuery& p);
  void on_upstream_reply(int fd);
  void on_timers(Clock::time_point now);
  void on_accept(const Endpoint& at, int fd);
  bool idle_exit();
  int next_timeout(Clock::time_point now);

  ResolverOptions opt_;
  UniqueFd lock_;
  EventLoop loop_;
  UniqueFd inotify_, signals_, up4_, up6_;
  Networks networks_;
  size_t files_seen_ = 0;
  std::map<Endpoint, Listener> listeners_;
  ForwardTable table_;
  TcpSessions tcp_{loop_, [this](const std::string& n) { return network_of(n); }, opt_.upstream_timeout, opt_.tcp_idle};
  uint32_t rotation_ = 0;
  bool stop_ = false;
  Clock::time_point empty_since_ = Clock::now();
  Clock::time_point next_bind_retry_ = Clock::time_point::max();
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(udp_buffer);
};

const Network* Resolver::network_of(const std::string& name) const {
  auto it = networks_.find(name);
  return it == networks_.end() ? nullptr : it->second.get();
}

Networks Resolver::read_directory(size_t& files_seen) {
  Networks next;
  files_seen = 0;
  DIR* d = ::opendir(opt_.dir.c_str());
  if (!d) {
    log("reading " + opt_.dir + ": " + std::strerror(errno));
    return networks_;  // keep serving what we have
  }
  while (auto* ent = ::readdir(d)) {
    std::string network = network_of_file(ent->d_name);
    if (network.empty()) continue;
    std::string path = opt_.dir + "/" + ent->d_name;
    auto text = read_file(path, 1 << 20);
    if (!text) {
      if (text.error().sys_errno != ENOENT) log(text.error().message);
      continue;
    }
    ++files_seen;
    auto file = parse_network_file(network, std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), path);
    if (!file) {
      // Refused whole; the version loaded before (if any) stays in service.
      log(file.error().message + (networks_.contains(network) ? " (keeping the previous version)" : ""));
      if (auto old = networks_.find(network); old != networks_.end()) next.emplace(network, old->second);
      continue;
    }
    Zone zone(*file);
    next.emplace(network, std::make_shared<const Network>(Network{std::move(*file), std::move(zone)}));
  }
  ::closedir(d);
  return next;
}

void Resolver::reload() {
  size_t seen = 0;
  Networks next = read_directory(seen);
  for (const auto& [name, n] : next)
    if (!networks_.contains(name)) log("network " + name + " added");
  for (const auto& [name, n] : networks_)
    if (!next.contains(name)) log("network " + name + " removed");
  networks_ = std::move(next);  // the swap: queries from here on see only the new set
  if (seen > 0) {
    empty_since_ = Clock::time_point::max();
  } else if (files_seen_ > 0 || empty_since_ == Clock::time_point::max()) {
    empty_since_ = Clock::now();
  }
  files_seen_ = seen;
  update_listeners();
}

void Resolver::close_listener(Listener& l) {
  for (UniqueFd* fd : {&l.udp, &l.tcp}) {
    if (*fd) loop_.unwatch(fd->get());
    fd->reset();
  }
}

void Resolver::update_listeners() {
  std::map<Endpoint, std::string> wanted;
  for (const auto& [name, n] : networks_) {
    for (const auto& e : n->file.listen) {
      auto [it, added] = wanted.emplace(e, name);
      if (!added && it->second != name) log("network " + name + ": " + e.str() + " is network " + it->second + "'s already; ignored");
    }
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    close_listener(it->second);
    it = listeners_.erase(it);
  }
  next_bind_retry_ = Clock::time_point::max();
  for (const auto& [e, name] : wanted) {
    Listener& l = listeners_[e];
    l.network = name;
    try_bind(e, l);
  }
}

void Resolver::try_bind(const Endpoint& e, Listener& l) {
  auto bind_one = [&](UniqueFd& slot, int type, void (Resolver::*on_ready)(const Endpoint&, int)) {
    if (slot) return;
    auto fd = listen_on(e, type);
    if (!fd) {
      if (!l.failure_logged) log(fd.error().message + " (retrying)");
      l.failure_logged = true;
      return;
    }
    int raw = fd->get();
    if (loop_.watch(raw, EPOLLIN, [this, e, raw, on_ready](uint32_t) { (this->*on_ready)(e, raw); })) slot = std::move(*fd);
  };
  bind_one(l.udp, SOCK_DGRAM, &Resolver::on_udp_query);
  bind_one(l.tcp, SOCK_STREAM, &Resolver::on_accept);
  if (l.udp && l.tcp) {
    if (l.failure_logged) log("listening on " + e.str());
    l.failure_logged = false;
  } else {
    next_bind_retry_ = std::min(next_bind_retry_, Clock::now() + opt_.bind_retry);
  }
}

void Resolver::on_inotify() {
  alignas(struct inotify_event) char buf[8192];
  bool changed = false;
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        log(opt_.dir + " went away; exiting");
        stop_ = true;
      }
      if (ev->mask & IN_Q_OVERFLOW) changed = true;
      if (ev->len > 0 && !network_of_file(ev->name).empty()) changed = true;
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
  if (changed && !stop_) reload();
}

void Resolver::on_signal() {
  struct signalfd_siginfo si;
  while (::read(signals_.get(), &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGHUP) {
      reload();
    } else {
      log("signal " + std::to_string(si.ssi_signo) + "; exiting");
      stop_ = true;
    }
  }
}

void Resolver::on_udp_query(const Endpoint& at, int fd) {
  // A bounded batch per wake-up, so one busy network cannot starve the others.
  for (int i = 0; i < 64; ++i) {
    SocketAddress from;
    from.len = sizeof from.storage;
    ssize_t n = ::recvfrom(fd, buffer_.data(), buffer_.size(), 0, from.get(), &from.len);
    if (n < 0) return;
    auto l = listeners_.find(at);
    const Network* net = l == listeners_.end() ? nullptr : network_of(l->second.network);
    if (!net) continue;
    std::span<const uint8_t> query(buffer_.data(), static_cast<size_t>(n));
    Decision d = decide(net->zone, query, 512, !net->file.upstreams.empty(), rotation_++);
    if (d.kind == Decision::Kind::reply && !d.reply.empty()) {
      (void)::sendto(fd, d.reply.data(), d.reply.size(), 0, from.get(), from.len);
    } else if (d.kind == Decision::Kind::forward) {
      forward_udp(at, *net, query, from);
    }
  }
}

void Resolver::forward_udp(const Endpoint& at, const Network& n, std::span<const uint8_t> query, const SocketAddress& from) {
  auto question = parse_first_question(query);
  if (!question) return;  // decide() parsed it already; cannot happen
  PendingQuery p;
  p.client_id = static_cast<uint16_t>(query[0] << 8 | query[1]);
  p.listener = at;
  p.client = from.storage;
  p.client_len = from.len;
  p.network = n.file.network;
  p.upstreams = n.file.upstreams;
  p.question = std::move(*question);
  p.wire.assign(query.begin(), query.end());
  p.deadline = Clock::now() + opt_.upstream_timeout;
  auto id = table_.add(std::move(p));
  if (!id) return;  // too many pending: the client will retry
  PendingQuery* pending = table_.find(*id);
  // Upstreams that cannot even be sent to are skipped at once.
  while (!send_upstream(*pending)) {
    if (++pending->upstream >= pending->upstreams.size()) {
      Bytes servfail = error_reply(query, rcode::servfail);
      auto l = listeners_.find(at);
      if (l != listeners_.end() && l->second.udp)
        (void)::sendto(l->second.udp.get(), servfail.data(), servfail.size(), 0, from.get(), from.len);
      table_.erase(*id);
      return;
    }
  }
}

bool Resolver::send_upstream(PendingQuery& p) {
  const Endpoint& up = p.upstreams[p.upstream];
  UniqueFd& sock = up.address.is_v4() ? up4_ : up6_;
  if (!sock) {
    auto fd = udp_client_socket(up.address.is_v4());
    if (!fd) return false;
    int raw = fd->get();
    if (!loop_.watch(raw, EPOLLIN, [this, raw](uint32_t) { on_upstream_reply(raw); })) return false;
    sock = std::move(*fd);
  }
  SocketAddress to = to_socket_address(up);
  return ::sendto(sock.get(), p.wire.data(), p.wire.size(), 0, to.get(), to.len) == static_cast<ssize_t>(p.wire.size());
}

void Resolver::on_upstream_reply(int fd) {
  for (int i = 0; i < 64; ++i) {
    SocketAddress from;
    from.len = sizeof from.storage;
    ssize_t n = ::recvfrom(fd, buffer_.data(), buffer_.size(), 0, from.get(), &from.len);
    if (n < 0) return;
    if (n < static_cast<ssize_t>(header_size)) continue;
    std::span<uint8_t> reply(buffer_.data(), static_cast<size_t>(n));
    uint16_t id = static_cast<uint16_t>(reply[0] << 8 | reply[1]);
    PendingQuery* p = table_.find(id);
    // Only the upstream asked, answering the question asked, ends a query; anything else is
    // late, stray or spoofed.
    if (!p || !same_endpoint(from, p->upstreams[p->upstream])) continue;
    auto q = parse_first_question(reply);
    if (!q || q->type != p->question.type || q->klass != p->question.klass || lowercase(q->name) != lowercase(p->question.name)) continue;
    reply[0] = static_cast<uint8_t>(p->client_id >> 8);
    reply[1] = static_cast<uint8_t>(p->client_id);
    auto l = listeners_.find(p->listener);
    if (l != listeners_.end() && l->second.udp)
      (void)::sendto(l->second.udp.get(), reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&p->client), p->client_len);
    table_.erase(id);
  }
}

void Resolver::on_timers(Clock::time_point now) {
  for (uint16_t id : table_.expired(now)) {
    PendingQuery* p = table_.find(id);
    if (!p) continue;
    bool sent = false;
    while (!sent && ++p->upstream < p->upstreams.size()) sent = send_upstream(*p);
    if (sent) {
      table_.extend(id, now + opt_.upstream_timeout);
      continue;
    }
    Bytes servfail = error_reply(p->wire, rcode::servfail);
    if (servfail.size() >= 2) {
      servfail[0] = static_cast<uint8_t>(p->client_id >> 8);
      servfail[1] = static_cast<uint8_t>(p->client_id);
    }
    auto l = listeners_.find(p->listener);
    if (l != listeners_.end() && l->second.udp)
      (void)::sendto(
          l->second.udp.get(), servfail.data(), servfail.size(), 0, reinterpret_cast<const sockaddr*>(&p->client), p->client_len);
    table_.erase(id);
  }
  tcp_.on_timers(now);
  if (now >= next_bind_retry_) {
    next_bind_retry_ = Clock::time_point::max();
    for (auto& [e, l] : listeners_) try_bind(e, l);
  }
}

void Resolver::on_accept(const Endpoint& at, int fd) {
  auto l = listeners_.find(at);
  if (l != listeners_.end()) tcp_.accept_from(fd, l->second.network);
}

bool Resolver::idle_exit() {
  // Let go of the lock first, then look: a network file written before an engine found the lock
  // free is seen here, and one written later comes with a new resolver (docs/ARCHITECTURE.md).
  lock_.reset();
  reload();
  if (files_seen_ == 0) return true;
  auto lock = take_resolver_lock(opt_.dir);
  if (!lock) return true;  // a new resolver took over
  lock_ = std::move(*lock);
  return false;
}

int Resolver::next_timeout(Clock::time_point now) {
  Clock::time_point next = next_bind_retry_;
  if (auto t = table_.next_deadline()) next = std::min(next, *t);
  if (auto t = tcp_.next_deadline()) next = std::min(next, *t);
  if (files_seen_ == 0 && empty_since_ != Clock::time_point::max()) next = std::min(next, empty_since_ + opt_.idle_exit);
  if (next == Clock::time_point::max()) return -1;
  auto ms = std::chrono::duration_cast<milliseconds>(next - now).count() + 1;
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60000));
}

Result<void> Resolver::setup() {
  TRY(loop_.open());
  // Dispositions survive exec: a starter that ignored these must not make us deaf to them.
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return fail_errno("sigprocmask");
  ::signal(SIGPIPE, SIG_IGN);
  signals_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signals_) return fail_errno("signalfd");
  TRY(loop_.watch(signals_.get(), EPOLLIN, [this](uint32_t) { on_signal(); }));
  inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) return fail_errno("inotify_init1");
  uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  if (::inotify_add_watch(inotify_.get(), opt_.dir.c_str(), mask) < 0) return fail_errno("watching " + opt_.dir);
  TRY(loop_.watch(inotify_.get(), EPOLLIN, [this](uint32_t) { on_inotify(); }));
  return {};
}

Result<void> Resolver::run() {
  TRY(setup());
  reload();
  log("serving " + opt_.dir + ": " + std::to_string(networks_.size()) + " network(s)");
  if (opt_.ready_fd >= 0) {
    (void)write_all(opt_.ready_fd, {reinterpret_cast<const uint8_t*>("ok\n"), 3});
    ::close(opt_.ready_fd);
  }
  while (!stop_) {
    auto now = Clock::now();
    TRY(loop_.run_once(next_timeout(now)));
    now = Clock::now();
    on_timers(now);
    if (files_seen_ == 0 && empty_since_ != Clock::time_point::max() && now >= empty_since_ + opt_.idle_exit) {
      if (idle_exit()) {
        log("no networks for " + std::to_string(opt_.idle_exit.count()) + " ms; exiting");
        break;
      }
    }
  }
  return {};
}

}  // namespace

Result<void> run_resolver(const ResolverOptions& options, UniqueFd lock) {
  Resolver r(options, std::move(lock));
  return r.run();
}

}  // namespace tiffin::dns
