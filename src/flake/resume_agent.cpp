#include "flake/resume_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "common/unix_socket.hpp"
#include "engine/user_lookup.hpp"

namespace tiffin::flake {
namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// Reads little-endian u32s and NUL-terminated strings from a body, refusing to run past it.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  Result<uint32_t> u32() {
    if (s_.size() < 4) return fail(Errc::corrupt, "flake agent message: truncated");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(s_[i])) << (8 * i);
    s_.remove_prefix(4);
    return v;
  }
  Result<std::string> text() {
    size_t nul = s_.find('\0');
    if (nul == std::string_view::npos) return fail(Errc::corrupt, "flake agent message: unterminated string");
    std::string out(s_.substr(0, nul));
    s_.remove_prefix(nul + 1);
    return out;
  }
  Result<std::vector<std::string>> texts() {
    uint32_t n = TRY(u32());
    if (n > s_.size()) return fail(Errc::corrupt, "flake agent message: bad count");
    std::vector<std::string> out;
    for (uint32_t i = 0; i < n; ++i) out.push_back(TRY(text()));
    return out;
  }
  bool done() const { return s_.empty(); }

 private:
  std::string_view s_;
};

void put_texts(std::string& out, const std::vector<std::string>& v) {
  put_u32(out, static_cast<uint32_t>(v.size()));
  for (const auto& s : v) out.append(s.c_str(), s.size() + 1);  // up to a NUL inside: NULs cannot cross exec
}

// A framed message: u32 length + body.
std::string framed(const std::string& body) {
  std::string out;
  put_u32(out, static_cast<uint32_t>(body.size()));
  return out + body;
}

// Whole frames out of a buffer; nullopt while one is incomplete.
Result<std::optional<std::string>> take_frame(std::string& buf) {
  if (buf.size() < 4) return std::optional<std::string>{};
  uint32_t len = TRY(Reader(buf).u32());
  if (len > kMaxRequest) return fail(Errc::corrupt, "flake agent message: too long");
  if (buf.size() < 4 + size_t(len)) return std::optional<std::string>{};
  std::string body = buf.substr(4, len);
  buf.erase(0, 4 + size_t(len));
  return std::optional<std::string>(std::move(body));
}

std::vector<int> forwarded_signals() { return {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT}; }

// ---- the agent

struct Call {
  UniqueFd sock;
  std::string in;
  std::vector<UniqueFd> fds;  // the caller's stdio, until the app has them
  pid_t pid = 0;
};

std::vector<UniqueFd> take_fds(msghdr& msg) {
  std::vector<UniqueFd> out;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      out.emplace_back(fd);
    }
  }
  return out;
}

void send_outcome(Call& call, const AgentOutcome& o) {
  std::string frame = framed(encode_outcome(o));
  (void)write_all(call.sock.get(), {reinterpret_cast<const uint8_t*>(frame.data()), frame.size()});
  call.sock.reset();
}

// Forks the app with the caller's stdio; the child reports a failed exec over a close-on-exec pipe.
void start_app(Call& call, AgentRequest r) {
  if (call.fds.size() != 3 || r.argv.empty()) {
    send_outcome(call, {AgentOutcome::Kind::not_started, 125, "a call needs a program and three descriptors"});
    return;
  }
  // The user, from the container's own files (the agent's root is the container's).
  engine::ResolvedUser user;
  if (!r.user.empty()) {
    auto text = [](const char* path) {
      auto data = read_file(path, 4 << 20);
      return data ? std::string(data->begin(), data->end()) : std::string();
    };
    auto resolved = engine::resolve_user(r.user, text("/etc/passwd"), text("/etc/group"));
    if (!resolved) {
      send_outcome(call, {AgentOutcome::Kind::not_started, 125, resolved.error().what()});
      return;
    }
    user = *resolved;
  }
  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  auto env = environ_with(r.env);
  auto argv_c = c_strings(r.argv);
  auto env_c = c_strings(env);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    send_outcome(call, {AgentOutcome::Kind::not_started, 125, std::string("pipe: ") + std::strerror(errno)});
    return;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);  // ignored by the agent; an ignored disposition survives exec
    ::setsid();                  // its own group: the caller's signals reach the whole pipeline it starts
    for (int i = 0; i < 3; ++i) ::dup2(call.fds[size_t(i)].get(), i);
    if (!r.user.empty() && (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0)) {
      int e = errno;
      (void)!::write(report[1], &e, sizeof e);
      ::_exit(126);
    }
    if (!r.cwd.empty()) (void)::chdir(r.cwd.c_str());
    ::execvpe(argv_c[0], argv_c.data(), env_c.data());
    int e = errno;
    (void)!::write(report[1], &e, sizeof e);
    ::_exit(e == ENOENT ? 127 : 126);
  }
  ::close(report[1]);
  call.fds.clear();
  if (pid < 0) {
    ::close(report[0]);
    send_outcome(call, {AgentOutcome::Kind::not_started, 125, std::string("fork: ") + std::strerror(errno)});
    return;
  }
  int e = 0;
  ssize_t n;
  do n = ::read(report[0], &e, sizeof e);
  while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == sizeof e) {
    ::waitpid(pid, nullptr, 0);
    send_outcome(call, {AgentOutcome::Kind::not_started, e == ENOENT ? 127 : 126, r.argv[0] + ": " + std::strerror(e)});
    return;
  }
  call.pid = pid;
}

// What the call's socket brought: the request (with the fds), then signals.
bool serve_input(Call& call) {
  char buf[65536];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(call.sock.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  // Descriptors only from a message that arrived whole (a failed recvmsg leaves `control` as it was).
  if (n >= 0)
    for (auto& fd : take_fds(msg)) call.fds.push_back(std::move(fd));
  if (n >= 0 && (msg.msg_flags & MSG_CTRUNC)) {
    send_outcome(call, {AgentOutcome::Kind::not_started, 125, "a call sent more descriptors than three"});
    return call.pid > 0;
  }
  if (n <= 0) {
    if (call.pid > 0) ::kill(-call.pid, SIGHUP);  // the caller went away: a hang-up, as a terminal's
    call.sock.reset();
    return call.pid > 0;  // keep the entry to reap the app
  }
  call.in.append(buf, size_t(n));
  if (call.pid == 0) {
    auto frame = take_frame(call.in);
    if (!frame) {
      send_outcome(call, {AgentOutcome::Kind::not_started, 125, frame.error().what()});
      return false;
    }
    if (!*frame) return true;
    auto r = decode_request(**frame);
    if (!r) {
      send_outcome(call, {AgentOutcome::Kind::not_started, 125, r.error().what()});
      return false;
    }
    start_app(call, std::move(*r));
    if (call.pid == 0) return false;
  }
  while (call.in.size() >= 4) {
    uint32_t sig = *Reader(call.in).u32();
    call.in.erase(0, 4);
    if (sig > 0 && sig < 65) ::kill(-call.pid, int(sig));
  }
  return true;
}

}  // namespace

std::string encode_request(const AgentRequest& r) {
  std::string out;
  put_texts(out, r.argv);
  put_texts(out, r.env);
  out.append(r.cwd.c_str(), r.cwd.size() + 1);
  out.append(r.user.c_str(), r.user.size() + 1);
  return out;
}

Result<AgentRequest> decode_request(std::string_view body) {
  if (body.size() > kMaxRequest) return fail(Errc::corrupt, "flake agent message: too long");
  Reader in(body);
  AgentRequest r;
  r.argv = TRY(in.texts());
  r.env = TRY(in.texts());
  r.cwd = TRY(in.text());
  r.user = TRY(in.text());
  if (!in.done()) return fail(Errc::corrupt, "flake agent message: trailing bytes");
  return r;
}

std::string encode_outcome(const AgentOutcome& o) {
  std::string out;
  put_u32(out, static_cast<uint32_t>(o.kind));
  put_u32(out, static_cast<uint32_t>(o.value));
  out.append(o.message.c_str(), o.message.size() + 1);
  return out;
}

Result<AgentOutcome> decode_outcome(std::string_view body) {
  Reader in(body);
  AgentOutcome o;
  uint32_t kind = TRY(in.u32());
  if (kind > 2) return fail(Errc::corrupt, "flake agent message: unknown outcome");
  o.kind = static_cast<AgentOutcome::Kind>(kind);
  o.value = static_cast<int32_t>(TRY(in.u32()));
  o.message = TRY(in.text());
  if (!in.done()) return fail(Errc::corrupt, "flake agent message: trailing bytes");
  return o;
}

Result<void> run_agent(const std::string& socket_path) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd sigs(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigs) return fail_errno("signalfd");
  UniqueFd listener = TRY_CTX(listen_unix(socket_path, true), socket_path);
  std::vector<std::unique_ptr<Call>> calls;
  for (;;) {
    std::vector<pollfd> fds{{listener.get(), POLLIN, 0}, {sigs.get(), POLLIN, 0}};
    for (auto& c : calls) fds.push_back({c->sock ? c->sock.get() : -1, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return fail_errno("poll");
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      bool stop = false;
      while (::read(sigs.get(), &si, sizeof si) == sizeof si)
        if (si.ssi_signo != SIGCHLD) stop = true;
      int status;
      pid_t pid;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        for (auto& c : calls) {
          if (c->pid != pid) continue;
          c->pid = -1;
          if (c->sock)
            send_outcome(*c, WIFSIGNALED(status) ? AgentOutcome{AgentOutcome::Kind::signaled, WTERMSIG(status), {}}
                                                 : AgentOutcome{AgentOutcome::Kind::exited, WEXITSTATUS(status), {}});
        }
      }
      if (stop) {
        // The apps get SIGTERM and a few seconds: once pid 1 is gone, the kernel kills the rest.
        for (auto& c : calls)
          if (c->pid > 0) ::kill(-c->pid, SIGTERM);
        for (int waited = 0; waited < 3000 && ::waitpid(-1, nullptr, WNOHANG) >= 0; waited += 10) ::usleep(10000);
        return {};
      }
    }
    for (size_t i = 0; i < calls.size(); ++i)
      if (fds[2 + i].revents && calls[i]->sock && !serve_input(*calls[i])) calls[i]->sock.reset();
    std::erase_if(calls, [](const auto& c) { return !c->sock && c->pid <= 0; });
    if (fds[0].revents & POLLIN) {
      int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        calls.push_back(std::make_unique<Call>());
        calls.back()->sock.reset(fd);
      }
    }
  }
}

namespace {

Result<UniqueFd> connect_agent(const std::string& socket_path) {
  UniqueFd path(::open(socket_path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!path || ::fstat(path.get(), &st) != 0 || !S_ISSOCK(st.st_mode)) return fail(Errc::unavailable, "no flake agent at " + socket_path);
  auto sock = connect_unix("/proc/self/fd/" + std::to_string(path.get()));
  if (!sock) {
    if (sock.error().sys_errno == ENOENT || sock.error().sys_errno == ECONNREFUSED)
      return fail(Errc::unavailable, "no flake agent at " + socket_path);
    return std::unexpected(sock.error().context(socket_path));
  }
  return sock;
}

}  // namespace

bool agent_listening(const std::string& socket_path) { return connect_agent(socket_path).has_value(); }

Result<AgentOutcome> call_agent(const std::string& socket_path, const AgentRequest& r) {
  auto sock = TRY(connect_agent(socket_path));
  sigset_t set, old;
  sigemptyset(&set);
  for (int s : forwarded_signals()) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &old);
  struct Restore {
    sigset_t old;
    ~Restore() { ::sigprocmask(SIG_SETMASK, &old, nullptr); }
  } restore{old};
  UniqueFd sigs(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigs) return fail_errno("signalfd");

  std::string frame = framed(encode_request(r));
  const int stdio[3] = {0, 1, 2};
  size_t sent = TRY_CTX(send_fds(sock.get(), stdio, frame), "sending the call to the flake agent");
  if (sent < frame.size())
    TRY_CTX(write_all(sock.get(), {reinterpret_cast<const uint8_t*>(frame.data()) + sent, frame.size() - sent}),
        "sending the call to the flake agent");

  std::string in;
  for (;;) {
    pollfd fds[2] = {{sock.get(), POLLIN, 0}, {sigs.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigs.get(), &si, sizeof si) == sizeof si) {
        std::string word;
        put_u32(word, si.ssi_signo);
        (void)::send(sock.get(), word.data(), word.size(), MSG_NOSIGNAL);
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n = ::read(sock.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(Errc::internal, "the flake agent went away before the app ended");
      in.append(buf, size_t(n));
      auto body = TRY(take_frame(in));
      if (body) return decode_outcome(*body);
    }
  }
}

}  // namespace tiffin::flake
