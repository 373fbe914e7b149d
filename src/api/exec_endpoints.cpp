// /containers/{id}/exec and /exec/{id}/…: docker's two-step exec (make, then start with the
// connection hijacked: exec_session), its inspect and resize.
#include <sys/ioctl.h>

#include "api/engine_api.hpp"
#include "api/exec_session.hpp"
#include "api/exec_store.hpp"
#include "common/json_fields.hpp"
#include "common/text.hpp"

namespace tiffin::api {

using json = nlohmann::json;
namespace jf = tiffin::json_fields;

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
    return hijacked_exec(api, *x);
  });
}

}  // namespace tiffin::api
