#include "shim/shim.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "common/unix_socket.hpp"
#include "runtime/cgroup_stats.hpp"
#include "runtime/console.hpp"
#include "runtime/container.hpp"
#include "shim/attach_protocol.hpp"
#include "shim/log_file.hpp"
#include "shim/redis_publisher.hpp"
#include "shim/restart_policy.hpp"

namespace tiffin::shim {

using Clock = std::chrono::steady_clock;

int creation_exit_code(const std::string& m) {
  if (m.find("executable file not found") != std::string::npos || m.find("No such file or directory") != std::string::npos)
    return 127;
  if (m.find("Permission denied") != std::string::npos || m.find("Is a directory") != std::string::npos) return 126;
  return 125;
}

namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

void write_line(int fd, const std::string& s) {
  if (fd >= 0) (void)write_all(fd, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Brings up lo in the network namespace of `pid` (runc leaves a new one with lo down; docker
// brings it up).
bool loopback_up(pid_t pid) {
  UniqueFd ns(::open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns || ::setns(ns.get(), CLONE_NEWNET) != 0) return false;
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  if (!sock || ::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return false;
  ifr.ifr_flags |= IFF_UP;
  return ::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) == 0;
}

struct Started {
  pid_t pid = 0;
  runtime::Cgroup cgroup;
  UniqueFd out, err, in;  // read ends (out is the pty master with a terminal), stdin's write end
};

class Shim {
 public:
  Shim(const ShimConfig& c, int ready_fd)
      : c_(c), ready_fd_(ready_fd), log_(c.log_path(), c.log_max_bytes, c.log_max_files),
        tracker_(parse_restart_policy(c.restart).value_or(RestartPolicy{})) {}

  int run();

 private:
  struct Client {
    UniqueFd fd;
    std::string in, out;
  };

  Result<Started> create_and_start();
  void serve_until_exit();
  void handle_output(int which, std::string_view data);
  void emit_line(int which, std::string_view line, bool partial);
  void accept_clients();
  void read_client(Client& cl);
  void send_to_clients(const std::string& frame);
  void flush_clients_blocking();
  void reap();
  void publish_stats();
  void write_status();
  void remove_self();

  ShimConfig c_;
  int ready_fd_;
  LogWriter log_;
  RestartTracker tracker_;
  std::unique_ptr<RedisPublisher> pub_out_, pub_err_, pub_stats_;
  UniqueFd sigfd_, listener_, timer_;
  std::vector<Client> clients_;
  Started run_;
  std::string stdin_pending_;
  bool stdin_closed_ = false;
  LineSplitter split_[2];
  int init_status_ = -1;  // wait status once the init exited
  ShimStatus status_;
  bool stop_requested_ = false;
};

Result<Started> Shim::create_and_start() {
  int out[2], err[2], in[2] = {-1, -1}, report[2];
  if (::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC) || ::pipe2(report, O_CLOEXEC)) return fail_errno("pipe");
  if (c_.open_stdin && !c_.tty && ::pipe2(in, O_CLOEXEC)) return fail_errno("pipe");
  UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]), in_r(in[0]), in_w(in[1]);
  UniqueFd report_r(report[0]), report_w(report[1]);
  UniqueFd console;
  if (c_.tty) console = TRY(listen_unix(c_.console_socket(), true));

  pid_t creator = ::fork();
  if (creator < 0) return fail_errno("fork");
  if (creator == 0) {
    // The creator: the container's stdio are our 0/1/2 when the runtime clones its init.
    ::sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(in_r ? in_r.get() : null, 0);
    ::dup2(c_.tty ? null : out_w.get(), 1);
    ::dup2(c_.tty ? null : err_w.get(), 2);
    runtime::RuntimeOptions rt{c_.runtime_root, false};
    runtime::CreateOptions co;
    co.id = c_.id;
    co.bundle = c_.bundle;
    if (c_.tty) co.console_socket = c_.console_socket();
    std::string msg;
    auto pid = runtime::create_container(rt, co);
    if (pid && c_.loopback && !loopback_up(*pid)) {
      (void)runtime::delete_container(rt, c_.id, true);
      pid = fail(Errc::io, "bringing up lo in the container's network namespace failed");
    }
    if (pid) {
      if (auto started = runtime::start_container(rt, c_.id); !started) {
        (void)runtime::delete_container(rt, c_.id, true);
        pid = std::unexpected(started.error());
      }
    }
    if (pid) {
      auto st = runtime::container_state(rt, c_.id);
      msg = "ok " + std::to_string(*pid) + "\n";
      if (st) {
        msg += std::to_string(static_cast<int>(st->state.cgroup_mode)) + "\n";
        for (const auto& d : st->state.cgroup_dirs) msg += d + "\n";
      }
    } else {
      msg = "error " + pid.error().message;
    }
    write_line(report_w.get(), msg);
    ::_exit(pid ? 0 : 1);
  }
  out_w.reset();
  err_w.reset();
  in_r.reset();
  report_w.reset();

  Started s;
  if (c_.tty) {
    // The runtime hands the pty master over the console socket while it creates.
    pollfd p[2] = {{console.get(), POLLIN, 0}, {report_r.get(), POLLIN, 0}};
    while (::poll(p, 2, -1) < 0 && errno == EINTR) {}
    if (p[0].revents & POLLIN) {
      UniqueFd conn(::accept4(console.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn) {
        int flags = ::fcntl(conn.get(), F_GETFL);
        ::fcntl(conn.get(), F_SETFL, flags & ~O_NONBLOCK);
        auto master = runtime::receive_fd(conn.get());
        if (master) s.out = std::move(*master);
      }
    }
    ::unlink(c_.console_socket().c_str());
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(report_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  int st = 0;
  while (::waitpid(creator, &st, 0) < 0 && errno == EINTR) {}
  if (reply.starts_with("error ")) return fail(Errc::io, reply.substr(6));
  if (!reply.starts_with("ok ")) return fail(Errc::internal, "the container's creator died (status " + std::to_string(st) + ")");
  std::vector<std::string> lines;
  size_t pos = 3;
  while (pos < reply.size()) {
    size_t end = reply.find('\n', pos);
    if (end == std::string::npos) end = reply.size();
    lines.push_back(reply.substr(pos, end - pos));
    pos = end + 1;
  }
  s.pid = static_cast<pid_t>(std::stol(lines.at(0)));
  if (lines.size() >= 2) {
    auto mode = static_cast<runtime::CgroupMode>(std::stoi(lines[1]));
    s.cgroup = runtime::Cgroup::open(mode, {lines.begin() + 2, lines.end()}, {});
  }
  if (!c_.tty) {
    s.out = std::move(out_r);
    s.err = std::move(err_r);
    s.in = std::move(in_w);
  } else if (!s.out) {
    return fail(Errc::internal, "the runtime did not send the terminal");
  }
  if (s.out) set_nonblocking(s.out.get());
  if (s.err) set_nonblocking(s.err.get());
  if (s.in) set_nonblocking(s.in.get());
  return s;
}

void Shim::emit_line(int which, std::string_view line, bool partial) {
  const char* stream = which == 0 ? "stdout" : "stderr";
  (void)log_.write({log_timestamp(), stream, partial, std::string(line)});
  RedisPublisher* pub = which == 0 ? pub_out_.get() : pub_err_.get();
  if (pub) {
    std::string msg(line);
    if (!partial) msg += '\n';
    pub->publish(std::move(msg));
  }
}

void Shim::handle_output(int which, std::string_view data) {
  split_[which].feed(data, [&](std::string_view line, bool partial) { emit_line(which, line, partial); });
  send_to_clients(encode_frame(which == 0 ? Frame::stdout_data : Frame::stderr_data, data));
}

void Shim::send_to_clients(const std::string& frame) {
  for (auto& cl : clients_) cl.out += frame;
}

void Shim::accept_clients() {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    clients_.push_back({UniqueFd(fd), {}, {}});
  }
}

void Shim::read_client(Client& cl) {
  char buf[16384];
  ssize_t n = ::read(cl.fd.get(), buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    cl.fd.reset();
    return;
  }
  if (n < 0) return;
  cl.in.append(buf, static_cast<size_t>(n));
  for (;;) {
    auto f = take_frame(cl.in);
    if (!f) {
      cl.fd.reset();  // a client that speaks nonsense is dropped
      return;
    }
    if (!*f) return;
    switch ((*f)->type) {
      case Frame::stdin_data:
        if (!stdin_closed_) stdin_pending_ += (*f)->payload;
        break;
      case Frame::stdin_close:
        if (c_.tty) stdin_pending_ += '\x04';  // EOF on a terminal is ^D
        else stdin_closed_ = true;
        break;
      case Frame::resize: {
        uint16_t rows = 0, cols = 0;
        if (c_.tty && run_.out && decode_resize((*f)->payload, rows, cols)) {
          winsize ws{rows, cols, 0, 0};
          ::ioctl(run_.out.get(), TIOCSWINSZ, &ws);
        }
        break;
      }
      default:
        break;
    }
  }
}

void Shim::flush_clients_blocking() {
  for (auto& cl : clients_) {
    if (!cl.fd) continue;
    int flags = ::fcntl(cl.fd.get(), F_GETFL);
    ::fcntl(cl.fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{2, 0};
    ::setsockopt(cl.fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    (void)write_all(cl.fd.get(), {reinterpret_cast<const uint8_t*>(cl.out.data()), cl.out.size()});
    cl.out.clear();
  }
}

void Shim::reap() {
  for (;;) {
    int st = 0;
    pid_t p = ::waitpid(-1, &st, WNOHANG);
    if (p <= 0) return;
    if (p == run_.pid) init_status_ = st;
  }
}

void Shim::publish_stats() {
  if (!pub_stats_ || run_.pid == 0) return;
  auto s = runtime::read_cgroup_stats(run_.cgroup);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"timestamp\":%lld,\"memory_usage\":%llu,\"memory_limit\":%llu,\"memory_cache\":%llu,"
                "\"cpu_usage\":%llu,\"pids_current\":%llu}",
                static_cast<long long>(::time(nullptr)), static_cast<unsigned long long>(s.memory_usage),
                static_cast<unsigned long long>(s.memory_limit), static_cast<unsigned long long>(s.memory_cache),
                static_cast<unsigned long long>(s.cpu_usage), static_cast<unsigned long long>(s.pids_current));
  pub_stats_->publish(buf);
}

void Shim::write_status() {
  std::string text = format_shim_status(status_);
  (void)write_file_atomic(c_.status_path(), {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0644, false);
}

// Waits for the init to exit, moving output to the log, Redis and attached clients meanwhile.
void Shim::serve_until_exit() {
  std::optional<Clock::time_point> drain_deadline;
  std::vector<RedisPublisher*> pubs;
  for (auto* p : {pub_out_.get(), pub_err_.get(), pub_stats_.get()})
    if (p) pubs.push_back(p);
  for (;;) {
    if (init_status_ != -1 && !drain_deadline) drain_deadline = Clock::now() + std::chrono::seconds(1);
    bool outputs_open = run_.out || run_.err;
    if (drain_deadline && (!outputs_open || Clock::now() >= *drain_deadline)) break;

    // Backpressure: stop reading the container while a client is far behind.
    bool backlog = false;
    for (auto& cl : clients_) backlog |= cl.out.size() > (4u << 20);

    std::vector<pollfd> fds;
    fds.push_back({sigfd_.get(), POLLIN, 0});
    fds.push_back({listener_.get(), POLLIN, 0});
    fds.push_back({timer_ ? timer_.get() : -1, POLLIN, 0});
    fds.push_back({run_.out && !backlog ? run_.out.get() : -1, POLLIN, 0});
    fds.push_back({run_.err && !backlog ? run_.err.get() : -1, POLLIN, 0});
    int stdin_fd = c_.tty ? run_.out.get() : run_.in.get();
    fds.push_back({stdin_fd >= 0 && !stdin_pending_.empty() ? stdin_fd : -1, POLLOUT, 0});
    size_t first_client = fds.size();
    for (auto& cl : clients_)
      fds.push_back({cl.fd.get(), static_cast<short>(POLLIN | (cl.out.empty() ? 0 : POLLOUT)), 0});

    int timeout = -1;
    auto now = Clock::now();
    for (auto* p : pubs) {
      if (p->queued() == 0) continue;
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p->next_retry() - now).count();
      timeout = timeout < 0 ? static_cast<int>(std::max<long long>(ms, 0)) : std::min(timeout, static_cast<int>(std::max<long long>(ms, 0)));
    }
    if (drain_deadline) timeout = timeout < 0 ? 50 : std::min(timeout, 50);
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) break;

    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigfd_.get(), &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          reap();
        } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          // Somebody stops the shim: the container stops with it, and stays stopped.
          stop_requested_ = true;
          if (run_.pid > 0) ::kill(run_.pid, SIGTERM);
        }
      }
    }
    if (fds[1].revents & POLLIN) accept_clients();
    if (fds[2].revents & POLLIN) {
      uint64_t ticks;
      if (::read(timer_.get(), &ticks, sizeof ticks) == sizeof ticks) publish_stats();
    }
    for (int which = 0; which < 2; ++which) {
      const pollfd& p = fds[3 + which];
      UniqueFd& fd = which == 0 ? run_.out : run_.err;
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got > 0) handle_output(which, {buf, static_cast<size_t>(got)});
      else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        // EOF (or EIO from a pty whose last slave closed).
        split_[which].finish([&](std::string_view line, bool partial) { emit_line(which, line, partial); });
        if (which == 0 && c_.tty) run_.in.reset();
        fd.reset();
      }
    }
    if (fds[5].fd >= 0 && (fds[5].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(fds[5].fd, stdin_pending_.data(), stdin_pending_.size());
      if (w > 0) stdin_pending_.erase(0, static_cast<size_t>(w));
      else if (w < 0 && errno != EAGAIN) stdin_pending_.clear();
    }
    for (size_t i = 0; i < clients_.size(); ++i) {
      Client& cl = clients_[i];
      short re = fds[first_client + i].revents;
      if (cl.fd && (re & POLLOUT) && !cl.out.empty()) {
        ssize_t w = ::send(cl.fd.get(), cl.out.data(), cl.out.size(), MSG_NOSIGNAL);
        if (w > 0) cl.out.erase(0, static_cast<size_t>(w));
        else if (w < 0 && errno != EAGAIN) cl.fd.reset();
      }
      if (cl.fd && (re & (POLLIN | POLLHUP | POLLERR))) read_client(cl);
    }
    std::erase_if(clients_, [](const Client& cl) { return !cl.fd; });
    // Once a client closed stdin and all it sent was written, the program sees end of file.
    if (stdin_closed_ && stdin_pending_.empty() && run_.in) run_.in.reset();
    now = Clock::now();
    for (auto* p : pubs) p->flush(now);
  }
  split_[0].finish([&](std::string_view line, bool partial) { emit_line(0, line, partial); });
  split_[1].finish([&](std::string_view line, bool partial) { emit_line(1, line, partial); });
  // One last attempt for what is queued; a dead server costs at most its connect timeout.
  for (auto* p : pubs) p->flush(Clock::time_point::max());
}

void Shim::remove_self() {
  if (c_.tiffin.empty()) return;
  std::vector<std::string> argv = {c_.tiffin, "--root", c_.root, "--run-root", c_.run_root, "rm", "--force", c_.id};
  auto pid = spawn(argv, [] {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 1);
    return true;
  });
  if (pid) wait_exit(*pid);
}

int Shim::run() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  sigfd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  auto listener = listen_unix(c_.attach_socket(), true);
  if (!listener) {
    write_line(ready_fd_, "error 125 " + listener.error().message + "\n");
    return 1;
  }
  listener_ = std::move(*listener);
  if (auto r = parse_redis_url(c_.stdout_redis); !c_.stdout_redis.empty() && r) pub_out_ = std::make_unique<RedisPublisher>(*r);
  if (auto r = parse_redis_url(c_.stderr_redis); !c_.stderr_redis.empty() && r) pub_err_ = std::make_unique<RedisPublisher>(*r);
  if (auto r = parse_redis_url(c_.stats_redis); !c_.stats_redis.empty() && r) pub_stats_ = std::make_unique<RedisPublisher>(*r);
  if (pub_stats_) {
    timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    long ms = c_.stats_interval_ms ? c_.stats_interval_ms : 2000;
    itimerspec its{{ms / 1000, (ms % 1000) * 1000000}, {ms / 1000, (ms % 1000) * 1000000}};
    ::timerfd_settime(timer_.get(), 0, &its, nullptr);
  }
  write_line(ready_fd_, "listening\n");

  if (c_.attach_first) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) > 0) accept_clients();
  }

  bool first = true;
  for (;;) {
    ::unlink(c_.stop_marker().c_str());
    auto started = create_and_start();
    auto began = Clock::now();
    int exit_code = 0;
    if (!started) {
      std::string message = started.error().message;
      exit_code = creation_exit_code(message);
      status_.error = message;
      if (first) {
        status_.state = "created";
        status_.exit_code = exit_code;
        write_status();
        write_line(ready_fd_, "error " + std::to_string(exit_code) + " " + message + "\n");
        ::close(ready_fd_);
        ready_fd_ = -1;
        send_to_clients(encode_frame(Frame::error, message));
        send_to_clients(encode_frame(Frame::exit, std::to_string(exit_code)));
        flush_clients_blocking();
        if (c_.auto_remove) remove_self();
        return 0;
      }
    } else {
      run_ = std::move(*started);
      init_status_ = -1;
      status_.state = "running";
      status_.pid = run_.pid;
      status_.started_at = log_timestamp();
      status_.error.clear();
      write_status();
      if (first) {
        write_line(ready_fd_, "ok " + std::to_string(run_.pid) + "\n");
        ::close(ready_fd_);
        ready_fd_ = -1;
      }
      reap();  // the init may have exited before SIGCHLD was being watched for
      serve_until_exit();
      exit_code = init_status_ == -1 ? 137 : tiffin::exit_code(init_status_);
      run_.out.reset();
      run_.err.reset();
      run_.in.reset();
      (void)runtime::delete_container({c_.runtime_root, false}, c_.id, true);
    }
    first = false;
    stop_requested_ |= ::access(c_.stop_marker().c_str(), F_OK) == 0;
    status_.exit_code = exit_code;
    status_.finished_at = log_timestamp();
    status_.pid = 0;
    auto delay = tracker_.after_exit(exit_code, stop_requested_, Clock::now() - began);
    if (!delay) {
      status_.state = "exited";
      write_status();
      send_to_clients(encode_frame(Frame::exit, std::to_string(exit_code)));
      flush_clients_blocking();
      clients_.clear();
      if (c_.auto_remove) remove_self();
      return 0;
    }
    status_.state = "restarting";
    status_.restart_count = tracker_.restarts();
    write_status();
    // Wait out the delay, still watching for a stop (SIGTERM) or `tiffin stop` (the marker).
    auto until = Clock::now() + *delay;
    while (Clock::now() < until && !stop_requested_) {
      pollfd p{sigfd_.get(), POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100))) > 0) {
        signalfd_siginfo si;
        while (::read(sigfd_.get(), &si, sizeof si) == sizeof si)
          if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stop_requested_ = true;
        reap();
      }
      stop_requested_ |= ::access(c_.stop_marker().c_str(), F_OK) == 0;
    }
    if (stop_requested_) {
      status_.state = "exited";
      write_status();
      if (c_.auto_remove) remove_self();
      return 0;
    }
  }
}

}  // namespace

std::string format_shim_status(const ShimStatus& s) {
  return "{\"state\":\"" + json_escape(s.state) + "\",\"pid\":" + std::to_string(s.pid) +
         ",\"exit_code\":" + std::to_string(s.exit_code) + ",\"restart_count\":" + std::to_string(s.restart_count) +
         ",\"started_at\":\"" + s.started_at + "\",\"finished_at\":\"" + s.finished_at + "\",\"error\":\"" +
         json_escape(s.error) + "\"}\n";
}

int run_shim(const ShimConfig& config, int ready_fd) {
  Shim shim(config, ready_fd);
  return shim.run();
}

}  // namespace tiffin::shim
