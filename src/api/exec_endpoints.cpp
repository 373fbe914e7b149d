// /containers/{id}/exec and /exec/{id}/…: docker's two-step exec (make, then start with the
// connection hijacked), its inspect and resize.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "api/engine_api.hpp"
#include "api/exec_store.hpp"
#include "api/stream_frames.hpp"
#include "common/json_fields.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"

namespace tiffin::api {

using json = nlohmann::json;
namespace jf = tiffin::json_fields;

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

// How an exec ended: the program's exit code, or docker's 126 with the runtime's message when
// it could not run the program (no such program, not executable …).
struct ExecEnd {
  int code = 0;
  std::string failure;
};

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

}  // namespace

void add_exec_endpoints(EngineApi& api) {
  api.route("POST", "/containers/{id}/exec", [&api](Request& r) -> Result<Response> {
    json body = TRY(body_object(r));
    auto e = TRY(api.engine());
    auto id = e.resolve_container(r.params["id"]);
    if (!id && id.error().kind == Errc::not_found) return fail(Errc::not_found, "No such container: " + r.params["id"]);
    auto info = TRY(e.inspect(TRY(std::move(id))));
    if (info.state.status != shim::ContainerStatus::running) return fail(Errc::conflict, "container " + info.id + " is not running");
    ExecInstance x;
    x.id = TRY(engine::random_id());
    x.container = info.id;
    x.request.args = TRY(jf::strings(body, "Cmd", "exec"));
    if (x.request.args.empty()) return fail(Errc::invalid_input, "No exec command specified");
    x.request.env = TRY(jf::strings(body, "Env", "exec"));
    x.request.user = TRY(jf::string(body, "User", "exec"));
    x.request.workdir = TRY(jf::string(body, "WorkingDir", "exec"));
    x.request.tty = TRY(jf::boolean(body, "Tty", "exec"));
    x.attach_stdin = TRY(jf::boolean(body, "AttachStdin", "exec"));
    x.attach_stdout = TRY(jf::boolean(body, "AttachStdout", "exec"));
    x.attach_stderr = TRY(jf::boolean(body, "AttachStderr", "exec"));
    if (TRY(jf::boolean(body, "Privileged", "exec"))) return fail(Errc::unsupported, "privileged exec is not supported");
    api.execs().put(x);
    return json_response(201, json{{"Id", x.id}});
  });

  api.route("GET", "/exec/{id}/json", [&api](Request& r) -> Result<Response> {
    auto x = api.execs().get(r.params["id"]);
    if (!x) return fail(Errc::not_found, "No such exec instance: " + r.params["id"]);
    json pc = {{"tty", x->request.tty}, {"entrypoint", x->request.args.front()},
        {"arguments", std::vector<std::string>(x->request.args.begin() + 1, x->request.args.end())}, {"privileged", false},
        {"user", x->request.user}};
    return json_response(
        200, json{{"ID", x->id}, {"Running", x->running}, {"ExitCode", x->exit_code ? json(*x->exit_code) : json(nullptr)},
                 {"ProcessConfig", pc}, {"OpenStdin", x->attach_stdin}, {"OpenStdout", x->attach_stdout}, {"OpenStderr", x->attach_stderr},
                 {"CanRemove", false}, {"ContainerID", x->container}, {"DetachKeys", ""}, {"Pid", x->pid}});
  });

  api.route("POST", "/exec/{id}/resize", [&api](Request& r) -> Result<Response> {
    auto x = api.execs().get(r.params["id"]);
    if (!x) return fail(Errc::not_found, "No such exec instance: " + r.params["id"]);
    // The terminal is the relaying thread's; the program's process group gets the size through
    // its pty, which the resize below reaches by the exec's pid.
    auto h = parse_uint<uint16_t>(r.arg("h")), w = parse_uint<uint16_t>(r.arg("w"));
    if (!h || !w) return fail(Errc::invalid_input, "resize needs h and w (numbers)");
    if (x->running && x->terminal) {
      winsize ws{*h, *w, 0, 0};
      ::ioctl(x->terminal->get(), TIOCSWINSZ, &ws);
    }
    return empty_response(200);
  });

  api.route("POST", "/exec/{id}/start", [&api](Request& r) -> Result<Response> {
    auto x = api.execs().get(r.params["id"]);
    if (!x) return fail(Errc::not_found, "No such exec instance: " + r.params["id"]);
    if (!api.execs().try_start(x->id)) return fail(Errc::conflict, "exec " + x->id + " has already run");
    bool detach = TRY(jf::boolean(TRY(body_object(r)), "Detach", "exec start"));
    auto e = TRY(api.engine());
    engine::ExecRequest req = x->request;
    if (detach) {
      req.detach = true;
      if (req.tty) req.tty = false;  // nobody reads a detached terminal
      auto piped = e.exec_piped(x->container, req);
      int code = piped ? exec_end(*piped).code : 126;
      // Detached, the program's end is not seen: it counts as done once it started.
      api.execs().update(x->id, [&](ExecInstance& i) { i.running = false, i.exit_code = code == 0 ? std::optional<int>() : code; });
      if (!piped) return std::unexpected(piped.error());
      if (code != 0) return fail(Errc::internal, "the exec did not start (runtime exit " + std::to_string(code) + ")");
      return empty_response(200);
    }
    Response res;
    res.hijack = true;
    res.content_type = req.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
    std::string exec_id = x->id, container = x->container;
    bool in = x->attach_stdin, out = x->attach_stdout, err = x->attach_stderr;
    res.stream = [&api, exec_id, container, req, in, out, err](Connection& conn) {
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
      if (req.tty) terminal = std::make_shared<UniqueFd>(::fcntl(piped->out.get(), F_DUPFD_CLOEXEC, 0));
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
  });
}

}  // namespace tiffin::api
