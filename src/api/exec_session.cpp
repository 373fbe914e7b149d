#include "api/exec_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <functional>

#include "api/stream_frames.hpp"
#include "common/subprocess.hpp"

namespace tiffin::api {

namespace {

// Copies between the client and the exec's descriptors until the program's output ends.
// `out`/`err`: read ends (with a terminal, the master alone as `out`); what the client did not
// ask for is read and dropped, so the program never blocks on a full pipe. Stdin goes to
// `in`; at the client's end of stream `close_stdin` runs (a pipe closes; a terminal stays).
void relay(Connection& conn, int in, const std::function<void()>& close_stdin, int out, int err, bool fwd_out, bool fwd_err, bool tty) {
  bool stdin_open = in >= 0;
  bool out_open = out >= 0, err_open = err >= 0;
  char buf[32768];
  while (out_open || err_open) {
    // The client is watched also once its stdin ended: a client that leaves ends the relay.
    pollfd p[3] = {
        {out_open ? out : -1, POLLIN, 0}, {err_open ? err : -1, POLLIN, 0}, {conn.fd(), static_cast<short>(stdin_open ? POLLIN : 0), 0}};
    if (!(stdin_open && conn.has_buffered()) && ::poll(p, 3, -1) < 0 && errno != EINTR) return;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      if (!(i == 0 ? fwd_out : fwd_err)) continue;
      std::string_view data(buf, static_cast<size_t>(n));
      auto sent = tty ? conn.write(data) : conn.write(frame(i == 0 ? StreamKind::stdout_ : StreamKind::stderr_, data));
      if (!sent) return;
    }
    if (!stdin_open && (p[2].revents & (POLLHUP | POLLERR))) return;
    if (stdin_open && (conn.has_buffered() || (p[2].revents & (POLLIN | POLLHUP)))) {
      auto got = conn.read_some(0);
      if (!got || (*got && (*got)->empty())) {
        stdin_open = false;
        close_stdin();
      } else if (*got && !write_all(in, {reinterpret_cast<const uint8_t*>((*got)->data()), (*got)->size()})) {
        stdin_open = false;
        close_stdin();
      }
    }
  }
}

}  // namespace

ExecEnd exec_end(engine::PipedExec& p) {
  ExecEnd end{wait_exit(p.pid), {}};
  if (end.code == 0 || !p.errors) return end;
  char buf[4096];
  ssize_t n = ::read(p.errors.get(), buf, sizeof buf);
  if (n <= 0) return end;
  std::string_view line(buf, static_cast<size_t>(n));
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (auto e = decode_error(line)) end = {126, "OCI runtime exec failed: " + e->message};
  return end;
}

Response hijacked_exec(EngineApi& api, const ExecInstance& x, uint16_t rows, uint16_t cols) {
  Response res;
  res.hijack = true;
  const engine::ExecRequest& req = x.request;
  res.content_type = req.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  std::string exec_id = x.id, container = x.container;
  bool in = x.attach_stdin, out = x.attach_stdout, err = x.attach_stderr;
  res.stream = [&api, exec_id, container, req, in, out, err, rows, cols](Connection& conn) {
    auto finish = [&](int code) {
      api.execs().update(exec_id, [&](ExecInstance& i) { i.running = false, i.exit_code = code, i.terminal.reset(); });
    };
    auto e = api.engine();
    if (!e) return finish(126);
    auto piped = e->exec_piped(container, req);
    if (!piped) {
      (void)conn.write(req.tty ? piped.error().message + "\r\n" : frame(StreamKind::stderr_, piped.error().message + "\n"));
      return finish(126);
    }
    std::shared_ptr<UniqueFd> terminal;
    if (req.tty) {
      terminal = std::make_shared<UniqueFd>(::fcntl(piped->out.get(), F_DUPFD_CLOEXEC, 0));
      if (rows && cols) {
        winsize ws{rows, cols, 0, 0};
        ::ioctl(piped->out.get(), TIOCSWINSZ, &ws);
      }
    }
    api.execs().update(exec_id, [&](ExecInstance& i) { i.pid = piped->pid, i.terminal = terminal; });
    if (!in && !req.tty) piped->in.reset();
    int stdin_fd = in ? piped->in.get() : -1;
    relay(
        conn, stdin_fd,
        [&] {
          if (!req.tty) piped->in.reset();
        },
        piped->out.get(), piped->err.get(), out, err, req.tty);
    // Ours closed, a program still writing gets SIGPIPE (or SIGHUP from its terminal) rather
    // than blocking forever on a client that left.
    piped->in.reset();
    piped->out.reset();
    piped->err.reset();
    // docker's clients print the runtime's failure from the output stream.
    ExecEnd end = exec_end(*piped);
    if (!end.failure.empty()) (void)conn.write(req.tty ? end.failure + "\r\n" : frame(StreamKind::stdout_, end.failure + "\n"));
    finish(end.code);
  };
  return res;
}

}  // namespace tiffin::api
