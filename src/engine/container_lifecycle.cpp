// Starting, stopping, signalling, pausing and waiting for containers: requests to their shim
// (shim/shim_protocol.hpp). Only a container whose shim was killed is handled through the
// runtime directly.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "common/env_memfd.hpp"
#include "common/fd.hpp"
#include "engine/corex_mode.hpp"
#include "engine/engine.hpp"
#include "layer/rw_layer.hpp"
#include "runtime/container.hpp"
#include "shim/log_file.hpp"
#include "shim/redis_url.hpp"

namespace tiffin::engine {

namespace {

// Waits up to `timeout` (forever if negative) for a process that is not our child to exit.
bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return errno == ESRCH;
  pollfd p{pidfd.get(), POLLIN, 0};
  int rc;
  int ms = timeout.count() < 0 ? -1 : static_cast<int>(std::min<int64_t>(timeout.count(), INT32_MAX));
  while ((rc = ::poll(&p, 1, ms)) < 0 && errno == EINTR) {
  }
  return rc > 0;
}

// The shim takes Redis addresses, not names (it carries no resolver): a name is resolved here,
// when the shim starts.
Result<std::string> with_address(const std::string& url) {
  if (url.empty()) return url;
  shim::RedisUrl u = TRY(shim::parse_redis_url(url));
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(u.host.c_str(), nullptr, &hints, &found); rc != 0 || !found)
    return fail(Errc::unavailable, "resolving the redis host " + u.host + ": " + ::gai_strerror(rc));
  char text[INET6_ADDRSTRLEN] = {};
  const void* addr = found->ai_family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
                                                  : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr);
  ::inet_ntop(found->ai_family, addr, text, sizeof text);
  ::freeaddrinfo(found);
  u.host = text;
  return shim::format_redis_url(u);
}

}  // namespace

Result<shim::ShimConfig> Engine::shim_config(const std::string& id, const ContainerConfig& c, const ImageConfig& image) const {
  shim::ShimConfig sc;
  sc.id = id;
  sc.bundle = container_dir(id);
  sc.runtime = opts_.runtime_binary;
  sc.runtime_root = runtime_root();
  sc.state_dir = container_dir(id);
  sc.run_dir = shim_dir(id);
  sc.stdout_redis = TRY(with_address(c.log_stdout));
  sc.stderr_redis = TRY(with_address(c.log_stderr));
  sc.stats_redis = TRY(with_address(c.stats_redis));
  sc.restart = c.restart;
  sc.tty = c.tty;
  sc.open_stdin = c.interactive;
  sc.auto_remove = c.auto_remove;
  sc.health = health_settings(c, image);
  sc.events_path = events_path();
  for (const auto& [k, v] : c.labels) sc.event_attributes.push_back(k + "=" + v);
  sc.event_attributes.push_back("image=" + c.image);
  sc.event_attributes.push_back("name=" + c.name);
  if (c.auto_remove) {
    // What release() and remove() undo, in the same order.
    layer::RwLayerOptions rw{container_dir(id) + "/layer", c.disk_size_mib, c.disk_type, opts_.root + "/pools", ""};
    sc.teardown_unmount = {container_dir(id) + "/rootfs", rw.dir + "/rw", netns_path(id)};
    sc.teardown_remove = {netns_path(id), shim_dir(id), container_dir(id)};
    if (c.disk_size_mib) sc.teardown_remove.insert(sc.teardown_remove.begin(), layer::rw_image_path(rw));
  }
  return sc;
}

Result<ShimConnection> Engine::launch(const std::string& id, const ContainerInfo& info, const StartOptions& o) {
  // Checked first: a container that cannot have its secrets must not run without them.
  UniqueFd secret_env;
  if (!info.config.secret_env_keys.empty()) {
    std::string missing;
    for (const auto& k : info.config.secret_env_keys)
      if (std::none_of(o.secret_env.begin(), o.secret_env.end(), [&](const std::string& e) { return e.starts_with(k + "="); }))
        missing += (missing.empty() ? "" : ", ") + k;
    if (!missing.empty())
      return fail(Errc::conflict, "container " + info.name + " needs its secret environment (" + missing +
                                      ") to start: start it through its Zero-OS workload (tiffin deploy)");
  }
  if (!o.secret_env.empty()) secret_env = TRY_CTX(make_env_memfd(o.secret_env), "the secret environment");
  std::optional<shim::Resize> size = info.config.tty ? o.size : std::nullopt;
  // The rootfs and the network again, in case a reboot or a fault took them away; the spec from
  // the container's config and its image as they are now.
  ImageInfo image;
  image.id = info.image_id;
  image.flist = opts_.root + "/images/" + info.image_id + ".fl";
  TRY(prepare_rootfs(id, info.config, image));
  TRY(prepare_network(id, info.config));
  TRY(write_bundle(id, info.config, image, size));
  std::string run = shim_dir(id);
  if (run.size() + sizeof("/console.sock") > 108)  // sun_path holds 108 bytes with its NUL
    return fail(Errc::invalid_input, "--run-root is too long for the shim's unix sockets (at most 30 characters): " + opts_.run_root);
  if (::mkdir(run.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + run);
  shim::ShimConfig sc = TRY(shim_config(id, info.config, TRY(image_config(image))));
  sc.secret_env = bool(secret_env);
  std::string conf = container_dir(id) + "/shim.conf";
  TRY(write_file_atomic(conf, shim::encode_config(sc), 0600, false));
  UniqueFd ready = TRY(launch_shim(opts_.shim_binary, conf, secret_env.get()));
  ShimConnection conn = TRY(ShimConnection::connect(sc.socket_path()));
  conn.hold_launch(std::move(ready));
  return conn;
}

Result<StartedContainer> Engine::start(const std::string& ref, const StartOptions& given) {
  std::string id = TRY(resolve_container(ref));
  std::string run = shim_dir(id);
  // A --corex container gets a new token at each start unless the caller brings one (a Zero-OS
  // workload's secret environment): through the secret memfd, never in a file.
  StartOptions o = given;
  std::string corex_token;
  if (ContainerInfo info = TRY(load_container(id)); info.config.corex && !is_active(info.state.status) && !has_corex_token(o.secret_env)) {
    corex_token = TRY(new_corex_token());
    o.secret_env.push_back(corex_token_env(corex_token));
  }
  for (int attempt = 0;; ++attempt) {
    // The token reaches the container only through a shim this start launches: one already
    // waiting (another CLI's) holds that CLI's token, and a running container its own.
    bool token_delivered = false;
    ContainerInfo info = TRY(load_container(id));
    if (is_active(info.state.status)) {
      // docker: starting a running container is no error; with attach, it attaches.
      StartedContainer out{info.state.pid, {}};
      if (o.attach) out.session = TRY(attach(id, o.attach_stdin));
      return out;
    }
    // A live shim that is not running the container waits for a Start (another CLI launched
    // it: the first Start wins) or is finishing (it closes the connection; then a new one).
    std::optional<ShimConnection> conn;
    if (info.shim_alive) {
      if (auto c = connect_shim(run)) conn = std::move(*c);
      else if (!wait_shim_exit(run)) return fail(Errc::unavailable, "the shim of " + info.name + " does not answer");
    }
    if (!conn) {
      auto launched = launch(id, info, o);
      if (!launched && launched.error().kind == Errc::conflict && attempt == 0) continue;  // another CLI's shim won
      conn = TRY(std::move(launched));
      token_delivered = !corex_token.empty();
    }
    if (o.attach) TRY(conn->send(shim::Attach{o.attach_stdin}));
    else if (o.watch_exit) TRY(conn->send(shim::Wait{}));
    if (o.size) TRY(conn->send(*o.size));
    auto started = conn->call<shim::Started>(shim::Start{});
    if (!started && started.error().kind == Errc::unavailable && attempt == 0) {
      if (!wait_shim_exit(run)) return fail(Errc::unavailable, "the shim of " + info.name + " does not answer");
      continue;
    }
    if (!started && started.error().kind == Errc::conflict && attempt == 0) continue;  // another CLI's Start won
    if (!started) return std::unexpected(started.error());
    StartedContainer out{started->pid, {}, token_delivered ? corex_token : ""};
    if (token_delivered) corex_tokens_.emplace_back(id, corex_token);
    if (o.attach || o.watch_exit) out.session = std::move(*conn);
    return out;
  }
}

Result<ShimConnection> Engine::attach(const std::string& ref, bool with_stdin) {
  ContainerInfo info = TRY(inspect(ref));
  if (info.state.status != ContainerStatus::running && info.state.status != ContainerStatus::paused)
    return fail(Errc::conflict, "you cannot attach to a stopped container, start it first");
  auto conn = connect_shim(shim_dir(info.id));
  if (!conn) return fail(Errc::conflict, "container " + info.name + " has no shim to attach to");
  TRY(conn->send(shim::Attach{with_stdin}));
  return conn;
}

Result<void> Engine::stop(const std::string& ref, std::chrono::milliseconds timeout, int signal) {
  std::string id = TRY(resolve_container(ref));
  // Read once: the stop signal, and the events' attributes (an --rm container's record is gone
  // once its shim answers).
  ContainerInfo info = TRY(load_container(id));
  if (signal == 0)  // the container's own: --stop-signal or the image's StopSignal, else SIGTERM
    signal = info.config.stop_signal.empty() ? SIGTERM : TRY(runtime::parse_signal(info.config.stop_signal));
  std::string run = shim_dir(id);
  if (info.shim_alive) {
    if (auto conn = connect_shim(run)) {
      record_container_event(info, "kill", {{"signal", std::to_string(signal)}});
      auto exited = conn->call<shim::Exited>(shim::Stop{static_cast<uint32_t>(timeout.count()), signal});
      if (!exited && exited.error().kind != Errc::unavailable) return std::unexpected(exited.error());
      if (exited) {
        // It answers once everything is recorded and torn down; its process ends right after.
        (void)wait_shim_exit(run);
        record_container_event(info, "stop");
        return {};
      }
    }
    if (!wait_shim_exit(run)) return fail(Errc::unavailable, "container " + short_id(id) + ": its shim does not answer");
  }
  return stop_without_shim(id, timeout, signal);
}

// A container whose shim was killed: the runtime stops it, and the engine records the exit.
Result<void> Engine::stop_without_shim(const std::string& id, std::chrono::milliseconds timeout, int signal) {
  runtime::RuntimeOptions rt{runtime_root(), false};
  ContainerInfo info = TRY(load_container(id));
  auto state = runtime::container_state(rt, id);
  bool ran = state && (state->status == runtime::Status::running || state->status == runtime::Status::paused);
  int code = 137;
  if (ran) {
    if (state->status == runtime::Status::paused) (void)runtime::resume_container(rt, id);
    pid_t pid = state->state.pid;
    bool gone = timeout.count() > 0 && runtime::kill_container(rt, id, signal, false) && wait_gone(pid, timeout);
    if (gone) code = 128 + signal;  // not our child: its own status is not ours to read
    else (void)runtime::kill_container(rt, id, SIGKILL, true);
    if (!gone && !wait_gone(pid, std::chrono::seconds(10))) return fail(Errc::unavailable, "container " + short_id(id) + " did not die");
  }
  // Also what a shim killed while starting it left (a created container's init).
  if (auto r = runtime::delete_container(rt, id, true); !r && r.error().kind != Errc::not_found) return r;
  if (!ran && !is_active(info.state.status)) return {};
  record_container_event(info, "die", {{"exitCode", std::to_string(ran ? code : (info.state.exit_code ? info.state.exit_code : 137))}});
  record_container_event(info, "stop");
  ShimStatus s = info.state;
  s.status = ContainerStatus::exited;
  s.exit_code = ran ? code : (s.exit_code ? s.exit_code : 137);
  s.pid = 0;
  s.finished_at = shim::log_timestamp();
  struct stat st;
  if (::stat(container_dir(id).c_str(), &st) != 0) return {};  // removed meanwhile
  return write_file_atomic(container_dir(id) + "/status", shim::encode_status(s), 0644, false);
}

Result<void> Engine::kill(const std::string& ref, int signal) {
  ContainerInfo info = TRY(inspect(ref));
  if (info.state.status != ContainerStatus::running && info.state.status != ContainerStatus::paused)
    return fail(Errc::conflict, "container " + info.name + " is not running");
  record_container_event(info, "kill", {{"signal", std::to_string(signal)}});
  if (info.shim_alive)
    if (auto conn = connect_shim(shim_dir(info.id))) return conn->call_done(shim::Kill{signal});
  return runtime::kill_container({runtime_root(), false}, info.id, signal, false);
}

Result<void> Engine::resize(const std::string& ref, uint16_t rows, uint16_t cols) {
  ContainerInfo info = TRY(inspect(ref));
  if (!is_active(info.state.status) || !info.shim_alive) return fail(Errc::conflict, "container " + info.name + " is not running");
  auto conn = TRY(connect_shim(shim_dir(info.id)));
  return conn.send(shim::Resize{rows, cols});
}

Result<void> Engine::pause(const std::string& ref, bool pause) {
  ContainerInfo info = TRY(inspect(ref));
  Result<void> done;
  Result<ShimConnection> conn = fail(Errc::unavailable, "no shim");
  if (info.shim_alive) conn = connect_shim(shim_dir(info.id));
  if (conn) done = pause ? conn->call_done(shim::Pause{}) : conn->call_done(shim::Resume{});
  else {
    runtime::RuntimeOptions rt{runtime_root(), false};
    done = pause ? runtime::pause_container(rt, info.id) : runtime::resume_container(rt, info.id);
  }
  if (done) record_container_event(info, pause ? "pause" : "unpause");
  return done;
}

Result<int> Engine::wait(const std::string& ref) {
  std::string id = TRY(resolve_container(ref));
  std::string run = shim_dir(id);
  if (shim_alive(id)) {
    if (auto conn = connect_shim(run)) {
      auto exited = conn->call<shim::Exited>(shim::Wait{});
      if (exited) {
        (void)wait_shim_exit(run);
        return exited->exit_code;
      }
      if (exited.error().kind != Errc::unavailable) return std::unexpected(exited.error());
    }
    if (!wait_shim_exit(run)) return fail(Errc::unavailable, "container " + short_id(id) + ": its shim does not answer");
  }
  ContainerInfo info = TRY(load_container(id));
  if (info.state.status == ContainerStatus::running || info.state.status == ContainerStatus::paused) {
    // Running without its shim: nobody will record its exit; wait for the process.
    wait_gone(info.state.pid, std::chrono::milliseconds(-1));
    return 137;
  }
  return info.state.exit_code;
}

}  // namespace tiffin::engine
