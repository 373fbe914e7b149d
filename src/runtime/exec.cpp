// exec: a new process inside a running container. The runtime enters the container's pid
// namespace for the fork only; the child joins the other namespaces and the cgroup, then goes
// through the same process setup as the init.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "runtime/console.hpp"
#include "runtime/container.hpp"
#include "runtime/lsm.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/sync_socket.hpp"
#include "runtime/wait.hpp"

namespace tiffin::runtime {

Result<Process> exec_process(const RuntimeOptions& rt, const std::string& id) {
  StateStore store(rt.root);
  ContainerState st = TRY(store.load(id));
  Spec spec = TRY(store.saved_spec(st));
  Process p = spec.process;
  p.terminal = false;
  p.args.clear();
  return p;
}

Result<int> exec_in_container(const RuntimeOptions& rt, const ExecOptions& opts) {
  StateStore store(rt.root);
  ContainerState st = TRY(store.load(opts.id));
  Status status = store.status(st);
  if (status != Status::running && status != Status::created)
    return fail(Errc::conflict, std::string("cannot exec in a ") + status_name(status) + " container");
  if (opts.process.args.empty()) return fail(Errc::invalid_input, "exec needs a command");
  TRY(check_lsm_labels(opts.process));
  if (opts.process.terminal && opts.console_socket.empty())
    return fail(Errc::invalid_input, "cannot allocate a terminal without --console-socket");
  Spec spec = TRY(store.saved_spec(st));
  auto joins = TRY(open_process_namespaces(st.pid, st.namespaces));
  // A no-pivot container's root is a chroot inside its mount namespace: enter the init's root.
  UniqueFd init_root;
  if (st.no_pivot) {
    init_root = UniqueFd(::open(("/proc/" + std::to_string(st.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!init_root) return fail_errno("opening the container's root");
  }
  std::optional<SeccompProgram> seccomp;
  if (spec.linux.seccomp) seccomp = TRY(seccomp_program(*spec.linux.seccomp, seccomp_cache_dir(rt)));
  UniqueFd console;
  if (opts.process.terminal) console = TRY(connect_console_socket(opts.console_socket));
  SyncPair sync = TRY(make_sync_pair());
  UniqueFd own_pid(::open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
  TRY(join_namespaces(joins, {"pid", "time"}));
  pid_t child = static_cast<pid_t>(::syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD), nullptr, nullptr, nullptr, 0));
  if (child < 0) return fail_errno("fork for exec");
  if (child == 0) {
    sync.parent.reset();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The caller may block signals (a server waiting for its own in sigwait) or ignore SIGPIPE:
    // the program starts with neither.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    auto setup = [&]() -> Result<PreparedProcess> {
      // Into the namespaces while the runtime moves us into the cgroup (a write per hierarchy),
      // then the process's own setup once we are there.
      TRY(join_namespaces(joins, {"user", "ipc", "uts", "network", "cgroup", "mount"}));
      if (init_root && (::fchdir(init_root.get()) != 0 || ::chroot(".") != 0)) return fail_errno("entering the container's root");
      if (opts.process.terminal) {
        Pty pty = TRY(open_pty());
        TRY(send_fd(console.get(), pty.master.get(), "/dev/ptmx"));
        console.reset();
        TRY(attach_terminal(pty.slave_path));
      }
      if (TRY(sync_receive(sync.child.get())) != "cgroup") return fail(Errc::internal, "the runtime went away");
      return prepare_process(opts.process, seccomp, opts.preserve_fds);
    };
    auto prepared = setup();
    if (!prepared) child_fail(sync.child.get(), prepared.error());
    ::prctl(PR_SET_PDEATHSIG, 0);
    (void)sync_send(sync.child.get(), "ready");
    exec_prepared(*prepared);
  }
  if (own_pid) (void)::setns(own_pid.get(), CLONE_NEWPID);
  sync.child.reset();
  console.reset();
  auto fail_child = [&](Error e) -> Result<int> {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return std::unexpected(std::move(e));
  };
  if (auto r = st.cgroup().add_process(child); !r) return fail_child(r.error().context("joining the cgroup"));
  if (auto r = sync_send(sync.parent.get(), "cgroup"); !r) return fail_child(r.error());
  auto msg = sync_receive_step(sync.parent.get());
  if (!msg) return fail_child(std::move(msg.error()).context("exec failed"));
  if (*msg != "ready") return std::unexpected(silent_death(child, "the exec'd process").context("exec failed"));
  if (!opts.pid_file.empty()) {
    std::string text = std::to_string(child);
    if (auto r = write_file_atomic(opts.pid_file, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0644, false); !r)
      return fail_child(r.error());
  }
  if (opts.detach) return 0;
  return wait_forwarding_signals(child);
}

}  // namespace tiffin::runtime
