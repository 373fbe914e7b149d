#include "shim/shim.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/event_log.hpp"
#include "common/fd.hpp"
#include "common/remove_tree.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"
#include "common/unix_socket.hpp"
#include "runtime/cgroup_layout.hpp"
#include "runtime/cgroup_stats.hpp"
#include "shim/log_file.hpp"
#include "shim/redis_publisher.hpp"
#include "shim/restart_policy.hpp"
#include "shim/runtime_cli.hpp"
#include "shim/shim_protocol.hpp"
#include "shim/stats_record.hpp"

namespace tiffin::shim {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;  // GCC deduces it from the aggregate; clang 16 needs the guide

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

int poll_timeout(std::optional<Clock::time_point> until, Clock::time_point now) {
  if (!until) return -1;
  auto ms = std::chrono::duration_cast<milliseconds>(*until - now).count();
  return static_cast<int>(std::clamp<long long>(ms + 1, 0, 60000));
}

// The container's processes while it runs: its init (our child: we are its subreaper) and the
// descriptors of its stdio.
struct Run {
  pid_t pid = 0;
  UniqueFd out, err, in;  // read ends (out is the pty master with a terminal), stdin's write end
  Clock::time_point began;
  std::vector<std::string> cgroup_dirs;  // found from /proc/<pid>/cgroup when stats are wanted
};

// A health probe while it runs: `<runtime> exec` with its stdout and stderr on one pipe.
struct Probe {
  RuntimeCall call;
  UniqueFd out;
  std::string output;
  std::string start;
  Clock::time_point began, deadline;
  bool timed_out = false;
};

class Shim {
 public:
  Shim(const ShimConfig& c, int ready_fd, int secret_env_fd)
      : c_(c),
        ready_(ready_fd),
        secret_env_(secret_env_fd),
        log_(c.log_path(), c.log_max_bytes, c.log_max_files),
        tracker_(parse_restart_policy(c.restart).value_or(RestartPolicy{})) {}

  int run();

 private:
  enum class Phase { waiting, running, delay, done };

  struct Client {
    UniqueFd fd;
    std::string in, out;
    size_t in_offset = 0;
    bool attached = false, may_write_stdin = false, wants_exit = false;
  };

  Result<void> setup();
  void loop();
  void handle_signals();
  void accept_clients();
  void read_client(Client& cl);
  void on_message(Client& cl, Message m);
  void send(Client& cl, const Message& m) { cl.out += encode_message(m); }
  void reply(Client& cl, const Result<void>& r) { r ? send(cl, Done{}) : send(cl, Failed{r.error()}); }
  void broadcast_output(Output::Stream stream, std::string_view data);
  void flush_clients_blocking();

  void start(Client* requester);
  Result<Run> create_and_start(bool retried_stale = false);
  void handle_output(int which);
  void emit_line(int which, std::string_view line, bool partial);
  void write_stdin();
  void reap();
  void end_run();
  void finish(RuntimeCall* deleting = nullptr);
  void stop(const Stop& s, Client& cl);
  Result<void> signal_init(int sig);
  Result<void> freeze(bool frozen);
  void publish_stats();
  void schedule_probe();
  void start_probe();
  void read_probe();
  void end_probe(int wait_status);
  void kill_probe();
  void teardown(RuntimeCall* deleting);
  void write_status();
  // To the node's event log (shim_config.hpp), with the container's attributes.
  void record_event(const std::string& action, std::map<std::string, std::string> extra = {});
  std::string recorded_health_;  // the last health_status event's

  const ShimConfig& c_;
  UniqueFd ready_;
  UniqueFd secret_env_;  // the sealed memfd the runtime reads (--env-fd 4) at every start
  LogWriter log_;
  RestartTracker tracker_;
  std::unique_ptr<RedisPublisher> pub_out_, pub_err_, pub_stats_;
  UniqueFd sigfd_, listener_, stats_timer_;
  std::vector<std::unique_ptr<Client>> clients_;
  Phase phase_ = Phase::waiting;
  Run run_;
  std::optional<int> init_status_;  // wait status once the init exited
  std::optional<Resize> size_;      // the terminal's, as last asked
  std::string stdin_pending_;
  bool stdin_closed_ = false;
  bool stop_requested_ = false;
  bool start_asked_ = false;
  std::optional<Clock::time_point> kill_at_, delay_until_, drain_until_;
  std::optional<Probe> probe_;
  std::optional<Clock::time_point> probe_at_;
  LineSplitter split_[2];
  ShimStatus status_;
};

Result<void> Shim::setup() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  sigfd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd_) return fail_errno("signalfd");
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return fail_errno("PR_SET_CHILD_SUBREAPER");
  listener_ = TRY(listen_unix(c_.socket_path(), true));
  // The log exists before the program runs, so a reader that follows it from the start (docker's
  // clients ask for the logs right after the start) has the file to follow.
  (void)log_.open();
  auto publisher = [](const std::string& url) -> Result<std::unique_ptr<RedisPublisher>> {
    if (url.empty()) return std::unique_ptr<RedisPublisher>();
    return std::make_unique<RedisPublisher>(TRY(parse_redis_url(url)));
  };
  pub_out_ = TRY(publisher(c_.stdout_redis));
  pub_err_ = TRY(publisher(c_.stderr_redis));
  pub_stats_ = TRY(publisher(c_.stats_redis));
  if (pub_stats_) {
    stats_timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    long ms = c_.stats_interval_ms ? c_.stats_interval_ms : 2000;
    itimerspec its{{ms / 1000, (ms % 1000) * 1000000}, {ms / 1000, (ms % 1000) * 1000000}};
    ::timerfd_settime(stats_timer_.get(), 0, &its, nullptr);
  }
  return {};
}

int Shim::run() {
  if (auto r = setup(); !r) {
    std::string m = encode_message(Failed{r.error()});
    (void)write_all(ready_.get(), {reinterpret_cast<const uint8_t*>(m.data()), m.size()});
    return 1;
  }
  std::string ok = encode_message(Done{});
  (void)write_all(ready_.get(), {reinterpret_cast<const uint8_t*>(ok.data()), ok.size()});
  loop();
  // One last attempt for what is queued; a dead server costs at most its connect timeout.
  for (auto* p : {pub_out_.get(), pub_err_.get(), pub_stats_.get()})
    if (p) p->flush(Clock::time_point::max());
  return 0;
}

void Shim::loop() {
  while (phase_ != Phase::done) {
    bool backlog = false;  // stop reading the container while a client is far behind
    for (auto& cl : clients_) backlog |= cl->out.size() > (4u << 20);
    std::vector<pollfd> fds;
    fds.push_back({sigfd_.get(), POLLIN, 0});
    fds.push_back({listener_.get(), POLLIN, 0});
    // The launcher's end of the ready pipe: closed before it asked for Start, it gave up.
    fds.push_back({ready_ && !start_asked_ ? ready_.get() : -1, 0, 0});
    fds.push_back({stats_timer_ ? stats_timer_.get() : -1, POLLIN, 0});
    fds.push_back({run_.out && !backlog ? run_.out.get() : -1, POLLIN, 0});
    fds.push_back({run_.err && !backlog ? run_.err.get() : -1, POLLIN, 0});
    int stdin_fd = c_.tty ? run_.out.get() : run_.in.get();
    fds.push_back({stdin_fd >= 0 && !stdin_pending_.empty() ? stdin_fd : -1, POLLOUT, 0});
    fds.push_back({probe_ && probe_->out ? probe_->out.get() : -1, POLLIN, 0});
    size_t first_client = fds.size();
    for (auto& cl : clients_) fds.push_back({cl->fd.get(), static_cast<short>(POLLIN | (cl->out.empty() ? 0 : POLLOUT)), 0});

    auto now = Clock::now();
    std::optional<Clock::time_point> next;
    auto sooner = [&](std::optional<Clock::time_point> t) {
      if (t && (!next || *t < *next)) next = t;
    };
    sooner(kill_at_);
    sooner(delay_until_);
    sooner(probe_at_);
    if (probe_ && !probe_->timed_out) sooner(probe_->deadline);
    sooner(drain_until_ ? std::optional(std::min(*drain_until_, now + milliseconds(50))) : std::nullopt);
    for (auto* p : {pub_out_.get(), pub_err_.get(), pub_stats_.get()})
      if (p && p->queued()) sooner(p->next_retry());
    if (::poll(fds.data(), fds.size(), poll_timeout(next, now)) < 0 && errno != EINTR) return;

    if (fds[0].revents & POLLIN) handle_signals();
    if (fds[1].revents & POLLIN) accept_clients();
    if (fds[3].revents & POLLIN) {
      uint64_t ticks;
      if (::read(stats_timer_.get(), &ticks, sizeof ticks) == sizeof ticks) publish_stats();
    }
    for (int which = 0; which < 2; ++which)
      if (fds[4 + which].fd >= 0 && (fds[4 + which].revents & (POLLIN | POLLHUP | POLLERR))) handle_output(which);
    if (fds[6].fd >= 0 && (fds[6].revents & (POLLOUT | POLLERR | POLLHUP))) write_stdin();
    if (fds[7].fd >= 0 && (fds[7].revents & (POLLIN | POLLHUP | POLLERR))) read_probe();
    // Clients may be added while handling messages: only those polled are looked at.
    size_t polled = fds.size() - first_client;
    for (size_t i = 0; i < polled && i < clients_.size(); ++i) {
      Client& cl = *clients_[i];
      short re = fds[first_client + i].revents;
      if (cl.fd && (re & POLLOUT) && !cl.out.empty()) {
        ssize_t w = ::send(cl.fd.get(), cl.out.data(), cl.out.size(), MSG_NOSIGNAL);
        if (w > 0) cl.out.erase(0, static_cast<size_t>(w));
        else if (w < 0 && errno != EAGAIN) cl.fd.reset();
      }
      if (cl.fd && (re & (POLLIN | POLLHUP | POLLERR))) read_client(cl);
      if (phase_ == Phase::done) return;
    }
    std::erase_if(clients_, [](const auto& cl) { return !cl->fd; });
    // The launcher closed its end before its Start was answered (after the clients' messages:
    // a Start that came with the close still counts): nobody will ask, leave the container as
    // it was.
    if ((fds[2].revents & (POLLERR | POLLHUP)) && phase_ == Phase::waiting && !start_asked_) {
      finish();
      return;
    }
    // Once a client closed stdin and all it sent was written, the program sees end of file.
    if (stdin_closed_ && stdin_pending_.empty() && run_.in) run_.in.reset();

    now = Clock::now();
    if (kill_at_ && now >= *kill_at_) {
      kill_at_.reset();
      (void)signal_init(SIGKILL);
    }
    // The init exited: its output is read to the end (or for a second, if something it left
    // behind holds the pipes), then the run ends.
    if (phase_ == Phase::running && init_status_) {
      if (!drain_until_) drain_until_ = now + std::chrono::seconds(1);
      if ((!run_.out && !run_.err) || now >= *drain_until_) end_run();
    }
    if (probe_ && !probe_->timed_out && now >= probe_->deadline) {
      // Past its timeout: the probe's process goes, its runtime exec then ends, and reap()
      // records the failure.
      probe_->timed_out = true;
      kill_probe();
    }
    if (probe_at_ && now >= *probe_at_) {
      probe_at_.reset();
      start_probe();
    }
    if (phase_ == Phase::delay && delay_until_ && now >= *delay_until_) {
      delay_until_.reset();
      start(nullptr);
    }
    for (auto* p : {pub_out_.get(), pub_err_.get(), pub_stats_.get()})
      if (p) p->flush(now);
  }
}

void Shim::handle_signals() {
  signalfd_siginfo si;
  while (::read(sigfd_.get(), &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGCHLD) {
      reap();
    } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
      // Somebody stops the shim: the container stops with it, and stays stopped.
      Client none;
      stop(Stop{}, none);
    }
  }
}

void Shim::reap() {
  for (;;) {
    int st = 0;
    pid_t p = ::waitpid(-1, &st, WNOHANG);
    if (p <= 0) return;
    if (p == run_.pid && phase_ == Phase::running) init_status_ = st;
    else if (probe_ && p == probe_->call.pid) end_probe(st);
  }
}

void Shim::accept_clients() {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    auto cl = std::make_unique<Client>();
    cl->fd = UniqueFd(fd);
    clients_.push_back(std::move(cl));
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
    auto m = take_message(cl.in, cl.in_offset);
    if (!m) {
      cl.fd.reset();  // a client that speaks nonsense is dropped
      return;
    }
    if (!*m) break;
    on_message(cl, std::move(**m));
    if (phase_ == Phase::done) return;
  }
  cl.in.erase(0, cl.in_offset);
  cl.in_offset = 0;
}

void Shim::on_message(Client& cl, Message m) {
  std::visit(Overloaded{
                 [&](const Attach& a) {
                   cl.attached = true;
                   cl.may_write_stdin = a.with_stdin;
                 },
                 [&](const StdinData& d) {
                   if (cl.may_write_stdin && !stdin_closed_) stdin_pending_ += d.data;
                 },
                 [&](const StdinClose&) {
                   if (!cl.may_write_stdin) return;
                   if (c_.tty) stdin_pending_ += '\x04';  // end of file on a terminal is ^D
                   else stdin_closed_ = true;
                 },
                 [&](const Resize& r) {
                   size_ = r;
                   winsize ws{r.rows, r.cols, 0, 0};
                   if (c_.tty && run_.out) ::ioctl(run_.out.get(), TIOCSWINSZ, &ws);
                 },
                 [&](const Start&) { start(&cl); },
                 [&](const StatusRequest&) { send(cl, StatusReply{status_}); },
                 [&](const Stop& s) { stop(s, cl); },
                 [&](const Kill& k) {
                   auto r = signal_init(k.signal);
                   if (r && k.signal == SIGKILL) stop_requested_ = true;  // docker: kill is a stop
                   reply(cl, r);
                 },
                 [&](const Pause&) { reply(cl, freeze(true)); },
                 [&](const Resume&) { reply(cl, freeze(false)); },
                 [&](const Wait&) { cl.wants_exit = true; },
                 [&](const auto& other) {
                   (void)other;
                   cl.fd.reset();  // a reply type from a client: not a peer we know
                 },
             },
      m);
}

void Shim::broadcast_output(Output::Stream stream, std::string_view data) {
  std::string frame;
  for (auto& cl : clients_) {
    if (!cl->attached || !cl->fd) continue;
    if (frame.empty()) frame = encode_message(Output{stream, std::string(data)});
    cl->out += frame;
  }
}

void Shim::flush_clients_blocking() {
  for (auto& cl : clients_) {
    if (!cl->fd) continue;
    ::fcntl(cl->fd.get(), F_SETFL, ::fcntl(cl->fd.get(), F_GETFL) & ~O_NONBLOCK);
    timeval tv{2, 0};
    ::setsockopt(cl->fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    (void)write_all(cl->fd.get(), {reinterpret_cast<const uint8_t*>(cl->out.data()), cl->out.size()});
    cl->out.clear();
  }
}

// ---- the container's life

void Shim::start(Client* requester) {
  if (requester) {
    start_asked_ = true;
    ready_.reset();
    // Another client's Start won: starting a running container is no error (docker's rule).
    if (phase_ == Phase::running && !init_status_) {
      send(*requester, Started{run_.pid});
      return;
    }
    if (phase_ != Phase::waiting) {
      send(*requester, Failed{Error{Errc::conflict, 0, "the container is already started"}});
      return;
    }
  }
  stdin_closed_ = false;
  stdin_pending_.clear();
  auto started = create_and_start();
  if (started) {
    run_ = std::move(*started);
    init_status_.reset();
    phase_ = Phase::running;
    status_.status = ContainerStatus::running;
    status_.pid = run_.pid;
    status_.started_at = log_timestamp();
    status_.error.reset();
    if (c_.health.enabled()) {
      status_.health = Health{"starting", 0, {}};  // a new run starts its health afresh
      schedule_probe();
    }
    write_status();
    record_event("start");  // here, not by the engine: before the die the shim may record next
    if (requester) send(*requester, Started{run_.pid});
    reap();  // the init may have exited before its SIGCHLD was being watched for
    return;
  }
  status_.error = started.error();
  status_.exit_code = start_failure_exit_code(started.error());
  if (requester) {
    // The first start failed: the container stays created, and says why.
    send(*requester, Failed{started.error()});
    finish();
    return;
  }
  // A restart that failed counts as a run that failed.
  status_.finished_at = log_timestamp();
  run_.began = Clock::now();
  phase_ = Phase::running;
  init_status_ = status_.exit_code << 8;
  end_run();
}

Result<Run> Shim::create_and_start(bool retried_stale) {
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  if (!c_.tty && (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)) return fail_errno("pipe");
  if (c_.open_stdin && !c_.tty && ::pipe2(in, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]), in_r(in[0]), in_w(in[1]);
  UniqueFd console;
  if (c_.tty) console = TRY(listen_unix(c_.console_socket(), true));
  ::unlink(c_.init_pid_file().c_str());

  // run --detach: create and start in one exec of the runtime. A terminal's size the client sent
  // is in the spec (process.consoleSize) already, so it is there before the program runs.
  std::vector<std::string> args = {"run", "--detach", "--bundle", c_.bundle, "--pid-file", c_.init_pid_file()};
  if (c_.tty) args.insert(args.end(), {"--console-socket", c_.console_socket()});
  if (secret_env_) args.insert(args.end(), {"--env-fd", "4"});
  args.push_back(c_.id);
  RuntimeCall run = TRY(spawn_runtime(c_, args, in_r.get(), out_w.get(), err_w.get(), secret_env_.get()));
  // (A shim killed earlier may have left the runtime's container behind: see below.)
  out_w.reset();
  err_w.reset();
  in_r.reset();
  Run r;
  if (c_.tty) {
    // The runtime hands over the pty master while it creates: accept it until the runtime exits.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, run.pid, 0)));
    for (;;) {
      pollfd p[2] = {{console.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR) break;
      if (p[0].revents & POLLIN) {
        UniqueFd conn(::accept4(console.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (conn) {
          auto master = receive_fd(conn.get());
          if (master) r.out = std::move(*master);
        }
        break;
      }
      if (p[1].revents & POLLIN) break;
    }
    ::unlink(c_.console_socket().c_str());
  }
  if (auto done = finish_runtime(run); !done) {
    // The runtime still has the container of a shim that was killed: only the shim holding the
    // container's lock may delete it, so it is done here, and the run tried once more.
    if (done.error().kind != Errc::conflict || retried_stale) return std::unexpected(done.error());
    TRY(call_runtime(c_, {"delete", "--force", c_.id}));
    return create_and_start(true);
  }
  auto cleanup = [&](Error e) -> Result<Run> {
    (void)call_runtime(c_, {"delete", "--force", c_.id});
    return std::unexpected(std::move(e));
  };
  auto pid_text = read_file(c_.init_pid_file(), 64);
  auto pid = pid_text ? parse_int<int>(std::string_view(reinterpret_cast<const char*>(pid_text->data()), pid_text->size())) : std::nullopt;
  if (!pid || *pid <= 0) return cleanup(Error{Errc::internal, 0, "the runtime wrote no pid for the container"});
  if (c_.tty && !r.out) return cleanup(Error{Errc::internal, 0, "the runtime did not send the terminal"});
  // The latest size a client sent (a restart's spec holds the first one).
  if (c_.tty && size_) {
    winsize ws{size_->rows, size_->cols, 0, 0};
    ::ioctl(r.out.get(), TIOCSWINSZ, &ws);
  }
  r.pid = *pid;
  r.began = Clock::now();
  if (!c_.tty) {
    r.out = std::move(out_r);
    r.err = std::move(err_r);
    r.in = std::move(in_w);
  }
  for (auto* fd : {&r.out, &r.err, &r.in})
    if (*fd) set_nonblocking(fd->get());
  return r;
}

void Shim::emit_line(int which, std::string_view line, bool partial) {
  const char* stream = which == 0 ? "stdout" : "stderr";
  (void)log_.write({log_timestamp(), stream, partial, std::string(line)});
  if (RedisPublisher* pub = which == 0 ? pub_out_.get() : pub_err_.get()) {
    std::string msg(line);
    if (!partial) msg += '\n';
    pub->publish(std::move(msg));
  }
}

void Shim::handle_output(int which) {
  UniqueFd& fd = which == 0 ? run_.out : run_.err;
  char buf[65536];
  ssize_t got = ::read(fd.get(), buf, sizeof buf);
  auto sink = [&](std::string_view line, bool partial) { emit_line(which, line, partial); };
  if (got > 0) {
    split_[which].feed({buf, static_cast<size_t>(got)}, sink);
    broadcast_output(which == 0 ? Output::Stream::out : Output::Stream::err, {buf, static_cast<size_t>(got)});
  } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
    // End of file (or EIO from a pty whose last slave closed).
    split_[which].finish(sink);
    if (which == 0 && c_.tty) run_.in.reset();
    fd.reset();
  }
}

void Shim::write_stdin() {
  int fd = c_.tty ? run_.out.get() : run_.in.get();
  ssize_t w = ::write(fd, stdin_pending_.data(), stdin_pending_.size());
  if (w > 0) stdin_pending_.erase(0, static_cast<size_t>(w));
  else if (w < 0 && errno != EAGAIN) stdin_pending_.clear();
}

Result<void> Shim::signal_init(int sig) {
  if (phase_ != Phase::running || init_status_) return fail(Errc::conflict, "the container is not running");
  // A frozen container cannot act on a signal: thaw it for the ones that end it.
  if (status_.status == ContainerStatus::paused && (sig == SIGKILL || sig == SIGTERM)) {
    if (call_runtime(c_, {"resume", c_.id})) status_.status = ContainerStatus::running;
  }
  // The init is our child (or our zombie): its pid cannot have been reused.
  if (::kill(run_.pid, sig) != 0) return fail_errno("signalling the container");
  return {};
}

// pause / resume through the runtime (the freezer), recorded in the status.
Result<void> Shim::freeze(bool frozen) {
  ContainerStatus from = frozen ? ContainerStatus::running : ContainerStatus::paused;
  if (status_.status != from) return fail(Errc::conflict, frozen ? "the container is not running" : "the container is not paused");
  TRY(call_runtime(c_, {frozen ? "pause" : "resume", c_.id}));
  status_.status = frozen ? ContainerStatus::paused : ContainerStatus::running;
  write_status();
  return {};
}

void Shim::stop(const Stop& s, Client& cl) {
  stop_requested_ = true;
  cl.wants_exit = true;
  switch (phase_) {
    case Phase::waiting:
    case Phase::delay: finish(); return;
    case Phase::running:
      if (init_status_) return;  // already on its way out
      if (s.timeout_ms == 0 || !signal_init(s.signal)) (void)signal_init(SIGKILL);
      else kill_at_ = Clock::now() + milliseconds(s.timeout_ms);
      return;
    case Phase::done: return;
  }
}

// The init exited and its output is drained.
void Shim::end_run() {
  int code = init_status_ ? tiffin::exit_code(*init_status_) : 137;
  split_[0].finish([&](std::string_view line, bool partial) { emit_line(0, line, partial); });
  split_[1].finish([&](std::string_view line, bool partial) { emit_line(1, line, partial); });
  run_.out.reset();
  run_.err.reset();
  run_.in.reset();
  drain_until_.reset();
  kill_at_.reset();
  probe_at_.reset();
  if (probe_) {
    kill_probe();
    while (::waitpid(probe_->call.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    probe_.reset();
  }
  // A container that stopped is not healthy.
  if (!status_.health.status.empty()) status_.health.status = "unhealthy";
  // The runtime's delete (cgroups, its state) runs while the shim records and tears down.
  auto deleting = spawn_runtime(c_, {"delete", "--force", c_.id});
  status_.exit_code = code;
  status_.finished_at = log_timestamp();
  status_.pid = 0;
  record_event("die", {{"exitCode", std::to_string(code)}});
  auto delay = tracker_.after_exit(code, stop_requested_, Clock::now() - run_.began);
  run_ = Run();
  if (!delay) {
    status_.status = ContainerStatus::exited;
    finish(deleting ? &*deleting : nullptr);
    return;
  }
  if (deleting) (void)finish_runtime(*deleting);
  phase_ = Phase::delay;
  delay_until_ = Clock::now() + *delay;
  status_.status = ContainerStatus::restarting;
  status_.restart_count = tracker_.restarts();
  write_status();
}

// Stopped for good (or never started): the record, the teardown, then everyone waiting hears
// (once the runtime's delete, if one runs, is done too).
void Shim::finish(RuntimeCall* deleting) {
  if (status_.status == ContainerStatus::restarting) status_.status = ContainerStatus::exited;
  if (c_.auto_remove) {
    teardown(deleting);
  } else {
    write_status();
    if (deleting) (void)finish_runtime(*deleting);
  }
  for (auto& cl : clients_)
    if (cl->fd && (cl->attached || cl->wants_exit)) send(*cl, Exited{status_.exit_code});
  flush_clients_blocking();
  clients_.clear();
  phase_ = Phase::done;
}

// The mounts, then the trees; the last tree (the container's directory, whose absence ends the
// engine's record) only once the runtime's delete is done too, so nothing of the container
// outlives its record.
void Shim::teardown(RuntimeCall* deleting) {
  // Until nothing is mounted there any more (EINVAL), without reading mountinfo each time.
  for (const auto& path : c_.teardown_unmount)
    for (int i = 0; i < 8 && ::umount2(path.c_str(), MNT_DETACH) == 0; ++i) {
    }
  bool removed = true;
  const auto& trees = c_.teardown_remove;
  for (size_t i = 0; i + 1 < trees.size(); ++i) removed = removed && remove_tree(trees[i]).has_value();
  if (deleting) removed = finish_runtime(*deleting).has_value() && removed;
  if (removed && !trees.empty()) removed = remove_tree(trees.back()).has_value();
  // What could not go stays for `tiffin rm`, with its status.
  if (!removed) write_status();
  else record_event("destroy");
}

void Shim::publish_stats() {
  if (!pub_stats_ || phase_ != Phase::running || init_status_) return;
  static const auto layout = runtime::detect_cgroup_layout();
  if (!layout) return;
  if (run_.cgroup_dirs.empty()) {
    auto text = read_file("/proc/" + std::to_string(run_.pid) + "/cgroup", 1 << 16);
    if (!text) return;
    run_.cgroup_dirs = runtime::cgroup_dirs_from_proc(*layout, {reinterpret_cast<const char*>(text->data()), text->size()});
  }
  auto stats = runtime::read_cgroup_stats(layout->mode, run_.cgroup_dirs);
  pub_stats_->publish(stats_json(stats, ::time(nullptr)));
}

// ---- health probes (shim/health.hpp)

bool in_start_period(const HealthSettings& s, Clock::time_point began, Clock::time_point at) { return at - began < s.start_period; }

void Shim::schedule_probe() {
  auto now = Clock::now();
  probe_at_ = now + next_probe_delay(c_.health, status_.health, in_start_period(c_.health, run_.began, now));
}

void Shim::start_probe() {
  // A paused container is not probed (its processes cannot answer); the next one is due later.
  if (phase_ != Phase::running || init_status_ || status_.status != ContainerStatus::running) {
    if (phase_ == Phase::running && !init_status_) schedule_probe();
    return;
  }
  auto now = Clock::now();
  Probe p;
  p.start = log_timestamp();
  p.began = now;
  p.deadline = now + c_.health.timeout;
  int fds[2];
  auto failed = [&](const Error& e) {
    record_probe(status_.health, {p.start, log_timestamp(), -1, e.message}, in_start_period(c_.health, run_.began, now), c_.health.retries);
    write_status();
    schedule_probe();
  };
  if (::pipe2(fds, O_CLOEXEC) != 0) return failed(Error{Errc::io, errno, "pipe"});
  UniqueFd out_r(fds[0]), out_w(fds[1]);
  ::unlink(c_.probe_pid_file().c_str());
  std::vector<std::string> args = {"exec", "--pid-file", c_.probe_pid_file(), c_.id};
  args.insert(args.end(), c_.health.command.begin(), c_.health.command.end());
  auto call = spawn_runtime(c_, args, -1, out_w.get(), out_w.get());
  if (!call) return failed(call.error());
  set_nonblocking(out_r.get());
  p.call = std::move(*call);
  p.out = std::move(out_r);
  probe_ = std::move(p);
}

void Shim::read_probe() {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(probe_->out.get(), buf, sizeof buf);
    if (n > 0) {
      // What comes past the limit is read and dropped: a chatty probe must not block on its pipe.
      size_t room = kHealthOutputBytes - std::min(kHealthOutputBytes, probe_->output.size());
      probe_->output.append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) probe_->out.reset();
    return;
  }
}

void Shim::end_probe(int wait_status) {
  if (probe_->out) read_probe();  // what it wrote before exiting
  std::string errors;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(probe_->call.errors.get(), buf, sizeof buf)) > 0) errors.append(buf, static_cast<size_t>(n));
  HealthProbe result{probe_->start, log_timestamp(), tiffin::exit_code(wait_status), std::move(probe_->output)};
  if (probe_->timed_out) {
    result.exit_code = -1;
    result.output = probe_timeout_message(c_.health.timeout);
  } else if (result.exit_code != 0 && !errors.empty()) {
    // The runtime could not run the probe (no such program …): its error is the probe's output.
    while (!errors.empty() && errors.back() == '\n') errors.pop_back();
    auto e = decode_error(errors.substr(errors.rfind('\n') == std::string::npos ? 0 : errors.rfind('\n') + 1));
    if (e) result.output = e->message;
  }
  bool starting = in_start_period(c_.health, run_.began, probe_->began);
  probe_.reset();
  ::unlink(c_.probe_pid_file().c_str());
  record_probe(status_.health, std::move(result), starting, c_.health.retries);
  write_status();
  if (phase_ == Phase::running && !init_status_) schedule_probe();
}

void Shim::kill_probe() {
  // The process in the container first (the runtime's exec waits for it), then the exec.
  if (auto text = read_file(c_.probe_pid_file(), 64)) {
    auto pid = parse_int<int>(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
    if (pid && *pid > 0) ::kill(*pid, SIGKILL);
  }
  ::kill(probe_->call.pid, SIGKILL);
}

void Shim::write_status() {
  std::string text = encode_status(status_);
  (void)write_file_atomic(c_.status_path(), {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0644, false);
  const std::string& health = status_.health.status;
  if (health != recorded_health_ && (health == "healthy" || health == "unhealthy")) record_event("health_status: " + health);
  recorded_health_ = health;
}

void Shim::record_event(const std::string& action, std::map<std::string, std::string> extra) {
  if (c_.events_path.empty()) return;
  Event e{"container", action, c_.id, {}, 0};
  for (const auto& kv : c_.event_attributes)
    if (size_t eq = kv.find('='); eq != std::string::npos) e.attributes[kv.substr(0, eq)] = kv.substr(eq + 1);
  for (auto& [k, v] : extra) e.attributes[k] = std::move(v);
  (void)EventLog(c_.events_path).append(std::move(e));
}

}  // namespace

int run_shim(const ShimConfig& config, int ready_fd, int secret_env_fd) {
  Shim shim(config, ready_fd, secret_env_fd);
  return shim.run();
}

}  // namespace tiffin::shim
