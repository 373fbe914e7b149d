// Inside a running container: exec, top and stats go to the runtime directly (no round trip
// through the shim, so an exec costs one clone).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <thread>

#include "common/fd.hpp"
#include "common/remove_tree.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"
#include "common/unix_socket.hpp"
#include "engine/engine.hpp"
#include "engine/user_lookup.hpp"
#include "runtime/container.hpp"
#include "runtime/spec.hpp"

namespace tiffin::engine {
namespace {

// The runtime's exec options for a request into a running container.
Result<runtime::ExecOptions> exec_options(
    const runtime::RuntimeOptions& rt, const std::string& id, const std::string& name, const ExecRequest& r) {
  // The runtime checks the container runs (exec_in_container); no state of the engine's is read.
  runtime::ExecOptions opts;
  opts.id = id;
  auto process = runtime::exec_process(rt, id);
  if (!process && process.error().kind == Errc::not_found) return fail(Errc::conflict, "container " + name + " is not running");
  opts.process = TRY(std::move(process));
  opts.process.args = r.args;
  if (opts.process.args.empty()) return fail(Errc::invalid_input, "exec needs a command");
  opts.process.terminal = r.tty;
  for (const auto& kv : r.env) {
    if (kv.empty() || kv[0] == '=') return fail(Errc::invalid_input, "invalid environment variable '" + kv + "'");
    set_env(opts.process.env, kv);
  }
  if (!r.workdir.empty()) opts.process.cwd = r.workdir;
  if (!r.user.empty()) {
    auto state = runtime::container_state(rt, id);
    if (!state) return fail(Errc::conflict, "container " + name + " is not running");
    pid_t init = state->state.pid;
    std::string root = "/proc/" + std::to_string(init) + "/root";
    ResolvedUser u =
        TRY(resolve_user(r.user, read_file_in_root(root, "etc/passwd").value_or(""), read_file_in_root(root, "etc/group").value_or("")));
    opts.process.user.uid = u.uid;
    opts.process.user.gid = u.gid;
    opts.process.user.additional_gids = u.additional_gids;
  }
  opts.detach = r.detach;
  return opts;
}

}  // namespace

Result<int> Engine::exec(const std::string& ref, const ExecRequest& r) {
  if (r.tty) return fail(Errc::invalid_input, "an exec with a terminal goes through exec_terminal");
  std::string id = TRY(resolve_container(ref));
  runtime::RuntimeOptions rt{runtime_root(), false};
  runtime::ExecOptions opts = TRY(exec_options(rt, id, ref, r));
  return runtime::exec_in_container(rt, opts);
}

Result<ExecTerminal> Engine::exec_terminal(const std::string& ref, const ExecRequest& r) {
  std::string id = TRY(resolve_container(ref));
  runtime::RuntimeOptions rt{runtime_root(), false};
  ExecRequest req = r;
  req.tty = true;
  runtime::ExecOptions opts = TRY(exec_options(rt, id, ref, req));
  // The runtime hands the pty master over a console socket of our own.
  char dir_template[] = "/tmp/tiffin-exec-XXXXXX";
  if (!::mkdtemp(dir_template)) return fail_errno("mkdtemp");
  std::string dir = dir_template;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)remove_tree(dir); }
  } cleanup{dir};
  UniqueFd listener = TRY(listen_unix(dir + "/console.sock"));
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // the exec'd process becomes our child to wait for
  opts.console_socket = dir + "/console.sock";
  opts.detach = true;
  opts.pid_file = dir + "/pid";
  std::promise<Result<int>> done;
  auto result = done.get_future();
  std::thread runner([&] { done.set_value(runtime::exec_in_container(rt, opts)); });
  UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  runner.join();
  if (auto started = result.get(); !started) return std::unexpected(started.error());
  if (!conn) return fail_errno("accept on the console socket");
  ExecTerminal t;
  t.master = TRY(receive_fd(conn.get()));
  Bytes pid_text = TRY(read_file(opts.pid_file, 64));
  auto pid = parse_int<pid_t>(std::string_view(reinterpret_cast<const char*>(pid_text.data()), pid_text.size()));
  if (!pid) return fail(Errc::internal, "the runtime wrote no pid for the exec");
  t.pid = *pid;
  return t;
}

Result<PipedExec> Engine::exec_piped(const std::string& ref, const ExecRequest& r) {
  std::string id = TRY(resolve_container(ref));
  runtime::RuntimeOptions rt{runtime_root(), false};
  runtime::ExecOptions opts = TRY(exec_options(rt, id, ref, r));
  // The process goes to the runtime through a pipe (its --process reads /dev/fd/3): nothing on
  // disk, nothing to clean up.
  std::string process = runtime::process_to_json(opts.process);
  if (process.size() > 60000) return fail(Errc::invalid_input, "the exec's process is too large");
  int p[2], in[2], out[2], err[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd p_r(p[0]), p_w(p[1]);
  if (::pipe2(in, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);
  int failure[2];
  if (::pipe2(failure, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd failure_r(failure[0]), failure_w(failure[1]);
  TRY(write_all(p_w.get(), {reinterpret_cast<const uint8_t*>(process.data()), process.size()}));
  p_w.reset();
  // With a terminal, the runtime hands the pty master over a console socket of our own; the
  // runtime's exec still waits for the program (no subreaper: a server stays nobody's reaper).
  std::string dir;
  UniqueFd listener;
  struct Cleanup {
    std::string* dir;
    ~Cleanup() {
      if (!dir->empty()) (void)remove_tree(*dir);
    }
  } cleanup{&dir};
  std::vector<std::string> argv = {
      opts_.runtime_binary, "--root", runtime_root(), "--error-fd", "4", "--errors-to-fd-only", "exec", "--process", "/dev/fd/3"};
  if (r.tty) {
    char dir_template[] = "/tmp/tiffin-exec-XXXXXX";
    if (!::mkdtemp(dir_template)) return fail_errno("mkdtemp");
    dir = dir_template;
    listener = TRY(listen_unix(dir + "/console.sock"));
    argv.insert(argv.end(), {"--console-socket", dir + "/console.sock"});  // process.terminal is set
  }
  if (r.detach) argv.push_back("--detach");
  argv.push_back(id);
  // Detached, the program's stdio is /dev/null: nobody holds the other ends.
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return fail_errno("opening /dev/null");
  bool quiet = r.detach || r.tty;
  int fds[5] = {
      quiet ? null.get() : in_r.get(), quiet ? null.get() : out_w.get(), quiet ? null.get() : err_w.get(), p_r.get(), failure_w.get()};
  pid_t pid = TRY(spawn(argv, [fds] {
    // A server's threads block the signals it waits for: the program must get them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    // All out of the way first, then onto 0..4 (one may sit on another's target).
    int moved[5];
    for (int i = 0; i < 5; ++i)
      if ((moved[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0) return false;
    for (int i = 0; i < 5; ++i)
      if (::dup2(moved[i], i) < 0) return false;
    return true;
  }));
  failure_w.reset();
  if (!r.tty) return PipedExec{pid, std::move(in_w), std::move(out_r), std::move(err_r), std::move(failure_r)};
  // The master comes while the runtime sets the program up; a runtime that exits first failed.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  for (;;) {
    pollfd w[2] = {{listener.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    if (::poll(w, 2, 30000) <= 0 && errno != EINTR) break;
    if (w[0].revents & POLLIN) {
      UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) break;
      UniqueFd master = TRY(receive_fd(conn.get()));
      UniqueFd in_dup(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
      return PipedExec{pid, std::move(in_dup), std::move(master), UniqueFd(), std::move(failure_r)};
    }
    if (w[1].revents & POLLIN) break;
  }
  int code = wait_exit(pid);
  return fail(Errc::internal, "the runtime's exec exited (" + std::to_string(code) + ") before it sent the terminal");
}

Result<std::vector<ProcessRow>> Engine::top(const std::string& ref) {
  std::string id = TRY(resolve_container(ref));
  auto pids = runtime::container_pids({runtime_root(), false}, id);
  if (!pids && pids.error().kind == Errc::not_found) return fail(Errc::conflict, "container " + ref + " is not running");
  std::vector<ProcessRow> rows;
  for (pid_t pid : TRY(std::move(pids))) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline", 4096);
    if (!stat || !cmdline) continue;  // gone meanwhile
    std::string s(stat->begin(), stat->end());
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ')' ends it.
    size_t close = s.rfind(')');
    if (close == std::string::npos) continue;
    auto fields = split(s.substr(close + 2), ' ');
    ProcessRow row{pid, fields.size() > 1 ? parse_int<pid_t>(fields[1]).value_or(0) : 0, {}};
    row.command.assign(cmdline->begin(), cmdline->end());
    for (auto& ch : row.command)
      if (ch == '\0') ch = ' ';
    while (!row.command.empty() && row.command.back() == ' ') row.command.pop_back();
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<runtime::CgroupStats> Engine::stats(const std::string& ref) {
  std::string id = TRY(resolve_container(ref));
  auto state = runtime::container_state({runtime_root(), false}, id);
  if (!state || state->status == runtime::Status::stopped) return runtime::CgroupStats{};
  return runtime::read_cgroup_stats(state->state.cgroup());
}

}  // namespace tiffin::engine
