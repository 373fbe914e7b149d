// state, list, kill, delete, pause, resume, update, ps: operations on a container that exists.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/text.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"

namespace tiffin::runtime {
namespace {

Result<StateReport> load(const StateStore& store, const std::string& id) {
  ContainerState st = TRY(store.load(id));
  return StateReport{st, store.status(st)};
}

// The container's processes are gone: remove its cgroup and state, then run poststop hooks.
Result<void> destroy(const StateStore& store, const ContainerState& st) {
  auto spec = store.saved_spec(st);
  Cgroup cg = st.cgroup();
  (void)cg.signal_all(SIGKILL);
  TRY(cg.destroy());
  store.remove(st.id);
  if (spec) run_hooks_warning(spec->hooks.poststop, oci_state_json(st, Status::stopped), "poststop");
  return {};
}

// Gone means out of the cgroup: an exiting pid-namespace init stays a process until its
// children's zombies are reaped by the caller, but it has left its cgroup by then.
bool wait_gone(const ContainerState& st, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  Cgroup cg = st.cgroup();
  auto alive = [&] {
    if (st.cgroup_dirs.empty()) return process_start_time(st.pid) == st.pid_start && st.pid_start != 0;
    auto pids = cg.pids();
    return pids && !pids->empty();
  };
  while (alive()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

Result<int> parse_signal(const std::string& text) {
  if (text.empty()) return fail(Errc::invalid_input, "empty signal");
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    auto n = parse_uint<unsigned>(text);
    if (!n || *n == 0 || *n >= static_cast<unsigned>(NSIG)) return fail(Errc::invalid_input, "invalid signal: " + text);
    return static_cast<int>(*n);
  }
  std::string name = text;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.starts_with("SIG")) name = name.substr(3);
  for (int s = 1; s < SIGRTMIN; ++s)
    if (const char* abbrev = sigabbrev_np(s); abbrev && name == abbrev) return s;
  return fail(Errc::invalid_input, "invalid signal: " + text);
}

Result<StateReport> container_state(const RuntimeOptions& rt, const std::string& id) { return load(StateStore(rt.root), id); }

Result<std::vector<StateReport>> list_containers(const RuntimeOptions& rt) {
  StateStore store(rt.root);
  std::vector<StateReport> out;
  for (const auto& id : store.ids()) {
    auto r = load(store, id);
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

Result<void> kill_container(const RuntimeOptions& rt, const std::string& id, int signal, bool all) {
  StateStore store(rt.root);
  auto [st, status] = TRY(load(store, id));
  if (all) return st.cgroup().signal_all(signal);
  if (status == Status::stopped) return fail(Errc::conflict, "container not running");
  if (::kill(st.pid, signal) != 0) {
    if (errno == ESRCH) return fail(Errc::conflict, "no such process");
    return fail_errno("kill");
  }
  // A frozen (v1) process acts on SIGKILL only once thawed: thaw it, as runc does, or a paused
  // container outlives its kill and whoever waits for it waits forever.
  if (signal == SIGKILL && status == Status::paused) TRY_CTX(st.cgroup().set_frozen(false), "thawing the killed container");
  return {};
}

Result<void> delete_container(const RuntimeOptions& rt, const std::string& id, bool force) {
  StateStore store(rt.root);
  auto loaded = load(store, id);
  if (!loaded) {
    if (loaded.error().kind == Errc::not_found) {
      // A create that died before writing its state leaves only the directory.
      if (check_container_id(id)) store.remove(id);
      if (force) return {};
    }
    return std::unexpected(loaded.error());
  }
  auto [st, status] = *loaded;
  switch (status) {
    case Status::stopped: break;
    case Status::created:
    case Status::creating:
      if (status == Status::creating && !force) return fail(Errc::conflict, "cannot delete container " + id + " that is being created");
      if (status == Status::creating) ::kill(st.creator, SIGKILL);
      if (st.pid > 0) ::kill(st.pid, SIGKILL);
      break;
    case Status::running:
    case Status::paused:
      if (!force) return fail(Errc::conflict, "cannot delete container " + id + " that is not stopped: " + status_name(status));
      TRY(st.cgroup().signal_all(SIGKILL));
      ::kill(st.pid, SIGKILL);
      break;
  }
  if (status != Status::stopped && !wait_gone(st, std::chrono::seconds(10)))
    return fail(Errc::unavailable, "container " + id + " did not die after SIGKILL");
  return destroy(store, st);
}

Result<void> pause_container(const RuntimeOptions& rt, const std::string& id) {
  auto [st, status] = TRY(load(StateStore(rt.root), id));
  if (status != Status::running) return fail(Errc::conflict, "container not running");
  return st.cgroup().set_frozen(true);
}

Result<void> resume_container(const RuntimeOptions& rt, const std::string& id) {
  auto [st, status] = TRY(load(StateStore(rt.root), id));
  if (status != Status::paused) return fail(Errc::conflict, "container not paused");
  return st.cgroup().set_frozen(false);
}

Result<void> update_container(const RuntimeOptions& rt, const std::string& id, const Resources& r) {
  auto [st, status] = TRY(load(StateStore(rt.root), id));
  if (status == Status::stopped) return fail(Errc::conflict, "container not running");
  return st.cgroup().apply(r);
}

Result<std::vector<pid_t>> container_pids(const RuntimeOptions& rt, const std::string& id) {
  auto [st, status] = TRY(load(StateStore(rt.root), id));
  if (status == Status::stopped) return fail(Errc::conflict, "container not running");
  return st.cgroup().pids();
}

}  // namespace tiffin::runtime
