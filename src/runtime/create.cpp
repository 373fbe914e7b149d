// create, start and run: the parent side sets up the cgroup, user mappings and runtime hooks;
// the child (the container's future init) builds everything inside its namespaces and waits on
// exec.fifo. See container.hpp for the contract.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>

#include "common/env_memfd.hpp"
#include "common/fd.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/console.hpp"
#include "runtime/fd_range.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"
#include "runtime/lsm.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/sync_socket.hpp"
#include "runtime/wait.hpp"

namespace tiffin::runtime {
namespace {

std::string now_rfc3339() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

Result<void> write_id_map(pid_t pid, const char* file, const std::vector<IdMapping>& maps) {
  std::string text;
  for (const auto& m : maps) text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
  std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno("opening " + path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return fail_errno(std::string("writing the ") + file + " (impossible mapping?)");
  return {};
}

Result<void> write_sysctls(const std::map<std::string, std::string>& sysctls) {
  for (const auto& [key, value] : sysctls) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), value.data(), value.size()) < 0) return fail_errno("sysctl " + key + "=" + value);
  }
  return {};
}

// Forks with CLONE_NEWPID (when asked) without putting the parent's later children — hooks —
// into the new namespace, which unshare(CLONE_NEWPID) would.
pid_t fork_into(int flags) {
  return static_cast<pid_t>(::syscall(SYS_clone, static_cast<unsigned long>(flags | SIGCHLD), nullptr, nullptr, nullptr, 0));
}

struct InitContext {
  const Spec* spec;
  const CreateOptions* opts;
  const RootfsPlan* plan;
  std::vector<NamespaceToJoin>* joins;
  const std::optional<SeccompProgram>* seccomp;
  int sync;
  int fifo;           // -1 for run: no wait
  int console;        // -1 without a terminal
  std::string state;  // for createContainer / startContainer hooks: sent by the runtime with "cgroup"
};

Result<void> init_setup(InitContext& c, PreparedProcess& out) {
  const Spec& spec = *c.spec;
  bool new_user =
      spec.linux.has_namespace("user") && std::none_of(c.joins->begin(), c.joins->end(), [](auto& n) { return n.type == "user"; });
  TRY(join_namespaces(*c.joins, {"user"}));
  if (new_user) {
    // Made by clone together with the pid namespace, so that it owns that one (and /proc can be
    // mounted); the runtime writes the id maps now.
    TRY(sync_send(c.sync, "userns"));
    if (TRY(sync_receive(c.sync)) != "mapped") return fail(Errc::internal, "the runtime went away");
  }
  if (spec.linux.has_namespace("user")) {
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) return fail_errno("becoming root in the user namespace");
  }
  TRY(join_namespaces(*c.joins, {"ipc", "uts", "network", "mount"}));
  int unshare_flags =
      namespaces_to_create(spec.linux.namespaces) & ~(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWCGROUP | namespace_flag("time"));
  if (::unshare(unshare_flags) != 0) return fail_errno("creating namespaces");
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) return fail_errno("sethostname");
  if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0) return fail_errno("setdomainname");
  // Meanwhile the runtime makes the cgroup and moves us into it (a write that waits for an RCU
  // grace period).
  TRY(apply_rootfs_steps(c.plan->mounts, spec.root_path));
  // "cgroup <state>": the state the container's hooks see, with our pid as the host sees it.
  std::string moved = TRY(sync_receive(c.sync));
  if (!moved.starts_with("cgroup ")) return fail(Errc::internal, "the runtime went away");
  c.state = moved.substr(7);
  // The cgroup namespace's root is the cgroup we are in when it is made: only now.
  TRY(join_namespaces(*c.joins, {"cgroup"}));
  if ((namespaces_to_create(spec.linux.namespaces) & CLONE_NEWCGROUP) && ::unshare(CLONE_NEWCGROUP) != 0)
    return fail_errno("creating the cgroup namespace");
  TRY(apply_rootfs_steps(c.plan->cgroups, spec.root_path));
  if (!spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty()) {
    TRY(sync_send(c.sync, "hooks"));
    std::string reply = TRY(sync_receive(c.sync));
    if (reply != "hooks-done") return fail(Errc::internal, "the runtime went away");
  }
  TRY(run_hooks(spec.hooks.create_container, c.state, "createContainer"));
  TRY(enter_rootfs(spec.root_path, c.opts->no_pivot));
  // As runc: a missing working directory is made (before the root may turn read-only).
  std::error_code ec;
  std::filesystem::create_directories(spec.process.cwd, ec);
  // Without a console socket (`run` in the foreground) the process keeps the caller's terminal.
  if (spec.process.terminal && c.console >= 0) {
    Pty pty = TRY(open_pty());
    // process.consoleSize: the size is there before the program can ask for it.
    if (const auto& cs = spec.process.console_size) {
      winsize ws{static_cast<unsigned short>(cs->height), static_cast<unsigned short>(cs->width), 0, 0};
      if (::ioctl(pty.master.get(), TIOCSWINSZ, &ws) != 0) return fail_errno("setting the terminal's size");
    }
    TRY(bind_file(pty.slave_path, "/dev/console"));
    TRY(send_fd(c.console, pty.master.get(), "/dev/ptmx"));
    ::close(c.console);
    TRY(attach_terminal(pty.slave_path));
  }
  TRY(write_sysctls(spec.linux.sysctl));
  TRY(apply_rootfs_steps(c.plan->after_pivot, "/"));
  out = TRY(prepare_process(spec.process, *c.seccomp, c.opts->preserve_fds));
  return {};
}

// The init keeps only what it uses: stdio, the --preserve-fds, its sync socket, exec.fifo, the
// console socket and the namespaces it joins. Anything else its caller had open (a pipe such as
// tiffin-oci's --error-fd, close-on-exec or not) would stay open in the waiting init until
// `start`, and whoever reads that pipe to its end would wait for the container.
void close_unused_fds(const InitContext& c) {
  std::vector<int> keep = {c.sync, c.fifo, c.console};
  for (const auto& j : *c.joins) keep.push_back(j.fd.get());
  std::sort(keep.begin(), keep.end());
  unsigned from = 3 + static_cast<unsigned>(c.opts->preserve_fds);
  for (int k : keep) {
    if (k < 0 || static_cast<unsigned>(k) < from) continue;
    if (static_cast<unsigned>(k) > from) (void)close_fd_range(from, static_cast<unsigned>(k) - 1, false);
    from = static_cast<unsigned>(k) + 1;
  }
  (void)close_fd_range(from, ~0U, false);
}

[[noreturn]] void init_main(InitContext c) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  close_unused_fds(c);
  PreparedProcess p;
  if (auto r = init_setup(c, p); !r) child_fail(c.sync, r.error());
  // From here the container outlives the runtime.
  ::prctl(PR_SET_PDEATHSIG, 0);
  (void)sync_send(c.sync, "ready");
  // The sync socket (for `run`) and exec.fifo (for `start`) stay open, close-on-exec, until the
  // program runs: their closing tells the runtime that the poststart hooks may run.
  if (c.fifo >= 0) {
    char b;
    ssize_t n;
    while ((n = ::read(c.fifo, &b, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) ::_exit(1);
  }
  if (!c.spec->hooks.start_container.empty()) {
    if (auto r = run_hooks(c.spec->hooks.start_container, c.state, "startContainer"); !r) {
      std::string m = "tiffin-oci: " + r.error().what() + "\n";
      (void)!::write(2, m.data(), m.size());
      ::_exit(1);
    }
  }
  exec_prepared(p);
}

// Undoes a create that failed half way: the init, its cgroup and its state directory.
struct CreateCleanup {
  const StateStore& store;
  std::string id;
  pid_t child = 0;
  std::optional<Cgroup> cgroup;
  bool armed = true;
  ~CreateCleanup() {
    if (!armed) return;
    if (child > 0) {
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
    }
    if (cgroup) {
      (void)cgroup->signal_all(SIGKILL);
      (void)cgroup->destroy();
    }
    store.remove(id);
  }
};

// The runtime's side of init_setup, step for step: id maps, the cgroup, runtime hooks, "ready".
Result<void> drive_init(const Spec& spec, const CgroupLayout& layout, const std::string& cgroup_path, const ContainerState& st,
    CreateCleanup& cleanup, int sync, bool new_user) {
  pid_t child = cleanup.child;
  if (new_user) {
    if (TRY(sync_receive_step(sync)) != "userns") return fail(Errc::internal, "the container's init died during setup");
    TRY(write_id_map(child, "uid_map", spec.linux.uid_mappings));
    TRY(write_id_map(child, "gid_map", spec.linux.gid_mappings));
    TRY(sync_send(sync, "mapped"));
  }
  // Made while the init builds its mounts (measured: about 0.4 ms off a 12 ms create); the init
  // waits for "cgroup" before anything that needs it.
  TRY_CTX(cleanup.cgroup->make(layout), "cgroup " + cgroup_path);
  TRY(cleanup.cgroup->apply(spec.linux.resources));  // its errors name the field
  TRY_CTX(cleanup.cgroup->add_process(child), "adding the init to its cgroup");
  TRY(sync_send(sync, "cgroup " + oci_state_json(st, Status::created)));
  for (;;) {
    std::string msg = TRY(sync_receive_step(sync));
    if (msg == "ready") return {};
    if (msg != "hooks") {
      cleanup.child = 0;
      return std::unexpected(silent_death(child, "the container's init"));
    }
    // The spec's lifecycle: these run after the create operation's environment exists (step 2),
    // when the status is "created".
    std::string state = oci_state_json(st, Status::created);
    TRY(run_hooks(spec.hooks.prestart, state, "prestart"));
    TRY(run_hooks(spec.hooks.create_runtime, state, "createRuntime"));
    TRY(sync_send(sync, "hooks-done"));
  }
}

Result<void> write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return {};
  std::string text = std::to_string(pid);
  TRY_CTX(
      write_file_atomic(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0644, false), "writing the pid file");
  return {};
}

Result<pid_t> create(const RuntimeOptions& rt, const CreateOptions& opts, bool wait_for_start) {
  StateStore store(rt.root);
  std::string bundle = opts.bundle.empty() ? std::filesystem::current_path().string() : std::filesystem::absolute(opts.bundle).string();
  CreateOptions o = opts;
  o.bundle = bundle;
  Spec spec = TRY(load_spec(bundle));
  if (o.env_fd >= 0) {
    merge_env(spec.process.env, TRY_CTX(read_env_memfd(o.env_fd), "--env-fd"));
    ::close(o.env_fd);  // nothing else may inherit it (the container's process least of all)
    o.env_fd = -1;
  }
  // Checked before anything is made: the init builds the root in a mount namespace of its own.
  TRY(check_lsm_labels(spec.process, spec.linux.mount_label));
  if (!spec.linux.has_namespace("mount"))
    return fail(Errc::unsupported,
        "config.json: linux.namespaces: no mount namespace; tiffin-oci refuses this by design: a container's root is built in a "
        "mount namespace of its own (add {\"type\": \"mount\"}), never in the host's");
  if (spec.process.terminal && o.console_socket.empty() && wait_for_start)
    return fail(Errc::invalid_input, "cannot allocate a terminal without --console-socket");
  TRY(store.make_dir(o.id));
  CreateCleanup cleanup{store, o.id};
  ::umask(022);

  ContainerState st;
  st.id = o.id;
  st.bundle = bundle;
  st.rootfs = spec.root_path;
  st.created = now_rfc3339();
  st.oci_version = spec.oci_version;
  st.annotations = spec.annotations;
  st.namespaces = spec.linux.namespaces;
  st.no_pivot = o.no_pivot;
  st.creator = ::getpid();

  CgroupLayout layout = TRY(detect_cgroup_layout());
  std::string cg_path = resolve_cgroups_path(spec.linux.cgroups_path, o.id);
  cleanup.cgroup = TRY_CTX(Cgroup::plan(layout, cg_path), "cgroup " + cg_path);
  st.cgroup_mode = layout.mode;
  st.cgroup_dirs = cleanup.cgroup->dirs();
  st.cgroup_created = cleanup.cgroup->created();
  // Saved, with the cgroup directories about to be made, before anything is made or runs: a
  // create killed from here on leaves what delete needs to remove it all.
  TRY(store.save(st));
  {
    auto text = TRY(read_file(bundle + "/config.json", 16 << 20));
    TRY(write_file_atomic(store.config(o.id), text, 0600, false));
  }

  UniqueFd fifo;
  if (wait_for_start) {
    if (::mkfifo(store.fifo(o.id).c_str(), 0600) != 0) return fail_errno("creating exec.fifo");
    // Read-write so the init's read blocks (rather than seeing end of file) until start writes.
    fifo = UniqueFd(::open(store.fifo(o.id).c_str(), O_RDWR | O_CLOEXEC));
    if (!fifo) return fail_errno("opening exec.fifo");
  }
  UniqueFd console;
  if (spec.process.terminal && !o.console_socket.empty()) console = TRY(connect_console_socket(o.console_socket));
  // Decided here, before the clone: a mount that cannot mean anything fails create at once.
  RootfsContext rctx{bundle, &layout, cleanup.cgroup->dirs(), spec.linux.has_namespace("cgroup"), spec.linux.has_namespace("user")};
  RootfsPlan plan = TRY(plan_rootfs(spec, rctx));
  auto joins = TRY(open_spec_namespaces(spec.linux.namespaces));
  std::optional<SeccompProgram> seccomp;
  if (spec.linux.seccomp) seccomp = TRY(seccomp_program(*spec.linux.seccomp, seccomp_cache_dir(rt)));
  SyncPair sync = TRY(make_sync_pair());

  // pid and time namespaces apply to children: enter them for the fork, then step back.
  UniqueFd own_pid(::open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
  UniqueFd own_time;
  int clone_flags = 0;
  for (const auto& j : joins)
    if (j.type == "pid" && ::setns(j.fd.get(), CLONE_NEWPID) != 0) return fail_errno("joining the pid namespace");
  for (const auto& n : spec.linux.namespaces) {
    if (n.type == "pid" && n.path.empty()) clone_flags |= CLONE_NEWPID;
    if (n.type == "user" && n.path.empty()) clone_flags |= CLONE_NEWUSER;
    if (n.type == "time") {
      own_time = UniqueFd(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
      if (n.path.empty() ? ::unshare(namespace_flag("time")) != 0
                         : ::setns(std::find_if(joins.begin(), joins.end(), [](auto& j) { return j.type == "time"; })->fd.get(),
                               namespace_flag("time")) != 0)
        return fail_errno("entering the time namespace");
    }
  }
  InitContext ictx{&spec, &o, &plan, &joins, &seccomp, sync.child.get(), fifo ? fifo.get() : -1, console ? console.get() : -1, ""};
  pid_t child = fork_into(clone_flags);
  if (child < 0) return fail_errno("cloning the container's init");
  if (child == 0) {
    sync.parent.reset();
    init_main(ictx);
  }
  cleanup.child = child;
  if (own_pid) (void)::setns(own_pid.get(), CLONE_NEWPID);
  if (own_time) (void)::setns(own_time.get(), namespace_flag("time"));
  sync.child.reset();
  fifo.reset();
  console.reset();

  st.pid = child;
  if (auto driven = drive_init(spec, layout, cg_path, st, cleanup, sync.parent.get(), clone_flags & CLONE_NEWUSER); !driven) {
    if (auto e = pending_child_error(sync.parent.get())) return std::unexpected(std::move(*e));
    // A step of ours failed because the init is gone without a word (a send on the closed
    // socket, a cgroup.procs write for a dead pid): how it ended is the reason.
    if (int e = driven.error().sys_errno; cleanup.child > 0 && (e == EPIPE || e == ECONNRESET || e == ESRCH)) {
      cleanup.child = 0;
      return std::unexpected(silent_death(child, "the container's init"));
    }
    return std::unexpected(driven.error());
  }
  st.pid_start = process_start_time(child);
  st.creator = 0;
  TRY(store.save(st));
  TRY(write_pid_file(o.pid_file, child));
  cleanup.armed = false;
  // `run`: poststart hooks follow the program's start (the spec's step 9 after step 8), which
  // the end of file on the close-on-exec sync socket marks.
  if (!wait_for_start && !spec.hooks.poststart.empty()) (void)sync_receive(sync.parent.get());
  return child;
}

}  // namespace

Result<pid_t> create_container(const RuntimeOptions& rt, const CreateOptions& opts) { return create(rt, opts, true); }

Result<void> start_container(const RuntimeOptions& rt, const std::string& id) {
  StateStore store(rt.root);
  ContainerState st = TRY(store.load(id));
  Status status = store.status(st);
  if (status != Status::created) return fail(Errc::conflict, std::string("cannot start a container that is ") + status_name(status));
  UniqueFd fifo(::open(store.fifo(id).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return fail_errno("container not running: exec.fifo");
  if (::write(fifo.get(), "0", 1) != 1) return fail_errno("releasing the container");
  ::unlink(store.fifo(id).c_str());
  Spec spec = TRY(store.saved_spec(st));
  if (spec.hooks.poststart.empty()) return {};
  // The poststart hooks run once the program runs and before start returns: the init holds
  // exec.fifo open, close-on-exec, so the fifo losing its last reader marks the execve (or the
  // init's death, which the pidfd catches too).
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
  pollfd pfds[2] = {{fifo.get(), 0, 0}, {pidfd.get(), POLLIN, 0}};
  while (::poll(pfds, pidfd ? 2 : 1, -1) < 0 && errno == EINTR) {
  }
  run_hooks_warning(spec.hooks.poststart, oci_state_json(st, Status::running), "poststart");
  return {};
}

Result<int> run_container(const RuntimeOptions& rt, const CreateOptions& opts, bool detach) {
  if (detach) {
    pid_t pid = TRY(create(rt, opts, true));
    TRY(start_container(rt, opts.id));
    return static_cast<int>(pid != 0 ? 0 : 1);
  }
  pid_t pid = TRY(create(rt, opts, false));
  StateStore store(rt.root);
  ContainerState st = TRY(store.load(opts.id));
  if (auto spec = store.saved_spec(st)) run_hooks_warning(spec->hooks.poststart, oci_state_json(st, Status::running), "poststart");
  int code = wait_forwarding_signals(pid);
  TRY(delete_container(rt, opts.id, true));
  return code;
}

}  // namespace tiffin::runtime
