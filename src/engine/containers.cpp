// Containers: create (rootfs, bundle, record), start (the shim), stop/kill/rm, state.
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "common/hash.hpp"
#include "common/mountinfo.hpp"
#include "common/subprocess.hpp"
#include "common/text.hpp"
#include "engine/engine.hpp"
#include "engine/flist_mounts.hpp"
#include "fuse/rw_layer.hpp"
#include "runtime/container.hpp"
#include "shim/shim.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string random_id() {
  uint8_t bytes[32];
  UniqueFd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (!fd || ::read(fd.get(), bytes, sizeof bytes) != sizeof bytes) {
    auto t = std::to_string(::time(nullptr)) + std::to_string(::getpid());
    return to_hex(blake2b256({reinterpret_cast<const uint8_t*>(t.data()), t.size()}));
  }
  return to_hex(std::span<const uint8_t>(bytes, sizeof bytes));
}

Result<void> write_text(const std::string& path, const std::string& text) {
  return write_file_atomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0644, false);
}

std::string read_text(const std::string& path) {
  auto data = read_file(path, 1 << 20);
  return data ? std::string(data->begin(), data->end()) : std::string();
}

// Reads a file of the container's root without following its symlinks out of it.
std::string read_in_root(const std::string& root, const std::string& rel) {
  UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return {};
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how)));
  if (!fd) return {};
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0 && out.size() < (4u << 20)) out.append(buf, static_cast<size_t>(n));
  return out;
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// name:x:uid:gid… lines of /etc/passwd or /etc/group: the entry whose name (or number) matches.
std::optional<std::vector<std::string>> find_entry(const std::string& text, const std::string& key, int number_field) {
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() > static_cast<size_t>(number_field) && (f[0] == key || f[number_field] == key)) return f;
  }
  return std::nullopt;
}

struct ResolvedUser {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;
};

// docker's -u: name|uid[:group|gid], looked up in the container's /etc/passwd and /etc/group.
Result<ResolvedUser> resolve_user(const std::string& rootfs, const std::string& spec) {
  ResolvedUser u;
  if (spec.empty()) return u;
  std::string user = spec.substr(0, spec.find(':'));
  std::string group = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
  std::string passwd = read_in_root(rootfs, "etc/passwd");
  auto pw = find_entry(passwd, user, 2);
  if (all_digits(user)) {
    u.uid = static_cast<uint32_t>(std::stoul(user));
    u.gid = pw && pw->size() > 3 && all_digits((*pw)[3]) ? static_cast<uint32_t>(std::stoul((*pw)[3])) : 0;
  } else {
    if (!pw || pw->size() < 4 || !all_digits((*pw)[2]) || !all_digits((*pw)[3]))
      return fail(Errc::invalid_input, "unable to find user " + user + ": no matching entries in passwd file");
    u.uid = static_cast<uint32_t>(std::stoul((*pw)[2]));
    u.gid = static_cast<uint32_t>(std::stoul((*pw)[3]));
  }
  if (!group.empty()) {
    if (all_digits(group)) {
      u.gid = static_cast<uint32_t>(std::stoul(group));
    } else {
      auto gr = find_entry(read_in_root(rootfs, "etc/group"), group, 2);
      if (!gr || !all_digits((*gr)[2])) return fail(Errc::invalid_input, "unable to find group " + group + ": no matching entries in group file");
      u.gid = static_cast<uint32_t>(std::stoul((*gr)[2]));
    }
  }
  return u;
}

json bind_mount(const std::string& source, const std::string& target, bool read_only) {
  json opts = {"rbind", "rprivate"};
  if (read_only) opts.push_back("ro");
  return {{"destination", target}, {"type", "bind"}, {"source", source}, {"options", opts}};
}

bool process_alive(const std::string& pid_file) {
  std::string text = read_text(pid_file);
  if (text.empty()) return false;
  pid_t pid = static_cast<pid_t>(std::strtol(text.c_str(), nullptr, 10));
  uint64_t start = std::strtoull(text.c_str() + text.find(' ') + 1, nullptr, 10);
  return pid > 0 && runtime::process_start_time(pid) == start;
}

pid_t pid_of(const std::string& pid_file) { return static_cast<pid_t>(std::strtol(read_text(pid_file).c_str(), nullptr, 10)); }

// Polls quickly at first (most waits end within milliseconds), then every 10 ms.
template <class Pred>
bool wait_until(Pred done, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (int round = 0; !done(); ++round) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(round < 50 ? 500 : 10000));
  }
  return true;
}

}  // namespace

bool Engine::shim_alive(const std::string& id) const { return process_alive(shim_dir(id) + "/shim.pid"); }

Result<std::string> Engine::resolve_container(const std::string& ref) {
  if (ref.empty()) return fail(Errc::invalid_input, "no container given");
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT id FROM containers WHERE name = ? OR id = ?"));
  st.bind(1, ref).bind(2, ref);
  if (TRY(st.step())) return st.text(0);
  if (ref.find_first_not_of("0123456789abcdef") == std::string::npos) {
    auto prefix = TRY(sql::Stmt::prepare(db_, "SELECT id FROM containers WHERE id LIKE ? || '%'"));
    prefix.bind(1, ref);
    std::string found;
    while (TRY(prefix.step())) {
      if (!found.empty()) return fail(Errc::invalid_input, "container id prefix " + ref + " is ambiguous");
      found = prefix.text(0);
    }
    if (!found.empty()) return found;
  }
  return fail(Errc::not_found, "no such container: " + ref);
}

Result<std::vector<std::string>> Engine::volume_mounts(const ContainerConfig& c) {
  std::vector<std::string> sources;
  for (const auto& text : c.volumes) {
    VolumeSpec v = TRY(parse_volume_spec(text));
    if (v.named()) {
      auto existing = volume(v.source);
      VolumeInfo info = existing ? *existing : TRY(create_volume(v.source, 0));  // docker makes them on use
      sources.push_back(info.mountpoint);
    } else {
      std::error_code ec;
      if (!fs::exists(v.source, ec)) fs::create_directories(v.source, ec);  // as docker's -v does
      if (ec) return fail(Errc::io, "making " + v.source + ": " + ec.message());
      sources.push_back(v.source);
    }
  }
  return sources;
}

Result<void> Engine::prepare_rootfs(const std::string& id, const ContainerConfig& c, const ImageInfo& image) {
  std::string dir = container_dir(id);
  std::string rootfs = dir + "/rootfs";
  std::string mountpoint = opts_.run_root + "/mounts/" + image.id;
  RwLayerOptions rw{dir + "/layer", c.disk_size_mib, c.disk_type, opts_.root + "/pools", mountpoint};
  if (mount_at(rootfs)) {
    if (flist_mounted(mountpoint)) return {};
    // The image's mount process died under this overlay: build it again over a new mount.
    for (int i = 0; i < 8 && mount_at(rootfs); ++i) release_rw_layer(rw, rootfs);
  }
  TRY(ensure_flist_mount({opts_.full_binary, image.flist, mountpoint, opts_.root + "/cache", mountpoint + ".log"}));
  TRY(prepare_rw_layer(rw));
  std::error_code ec;
  fs::create_directories(rootfs, ec);
  if (auto r = mount_overlay(rw, rootfs); !r) {
    release_rw_layer(rw, "");
    release_flist_mount(mountpoint);
    return std::unexpected(std::move(r).error().context("container " + short_id(id)));
  }
  return {};
}

Result<void> Engine::release_rootfs(const std::string& id, const ContainerConfig& c, const std::string& image_id) {
  std::string dir = container_dir(id);
  std::string mountpoint = opts_.run_root + "/mounts/" + image_id;
  RwLayerOptions rw{dir + "/layer", c.disk_size_mib, c.disk_type, opts_.root + "/pools", mountpoint};
  std::string rootfs = dir + "/rootfs";
  for (int i = 0; i < 8 && mount_at(rootfs); ++i) release_rw_layer(rw, rootfs);
  if (mount_at(rootfs)) return fail(Errc::io, "cannot unmount " + rootfs);
  // The image's mount stays for the next container (starting one then costs no mount);
  // rmi and system prune unmount it.
  if (c.disk_size_mib) ::unlink(rw_image_path(rw).c_str());
  return {};
}

Result<void> Engine::write_bundle(const std::string& id, const ContainerConfig& c, const ImageInfo& image) {
  std::string dir = container_dir(id);
  std::string rootfs = dir + "/rootfs";
  ImageConfig icfg = TRY(image_config(image));
  ResolvedUser user = TRY(resolve_user(rootfs, !c.user.empty() ? c.user : icfg.user));
  SpecInputs in{id, rootfs, user.uid, user.gid, user.groups, {}, "/tiffin/" + id};
  // /etc/hosts, /etc/hostname and /etc/resolv.conf are the engine's, bound in as docker does.
  struct stat st{};
  if (::lstat((rootfs + "/etc").c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::string hostname = c.network == "host" ? "" : (c.hostname.empty() ? short_id(id) : c.hostname);
    if (c.network == "host") {
      TRY(write_text(dir + "/hosts", read_text("/etc/hosts")));
      TRY(write_text(dir + "/resolv.conf", read_text("/etc/resolv.conf")));
    } else {
      TRY(write_text(dir + "/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n"));
      TRY(write_text(dir + "/resolv.conf", ""));  // no network, no name servers
      TRY(write_text(dir + "/hostname", hostname + "\n"));
      in.mounts.push_back(bind_mount(dir + "/hostname", "/etc/hostname", c.read_only));
    }
    in.mounts.push_back(bind_mount(dir + "/hosts", "/etc/hosts", c.read_only));
    in.mounts.push_back(bind_mount(dir + "/resolv.conf", "/etc/resolv.conf", c.read_only));
  }
  auto sources = TRY(volume_mounts(c));
  for (size_t i = 0; i < c.volumes.size(); ++i) {
    VolumeSpec v = TRY(parse_volume_spec(c.volumes[i]));
    in.mounts.push_back(bind_mount(sources[i], v.target, v.read_only));
  }
  json spec = TRY(build_spec(c, icfg, in));
  return write_text(dir + "/config.json", spec.dump(1));
}

Result<std::string> Engine::create(const ContainerConfig& config) {
  TRY(validate_container_config(config));
  ImageInfo image = TRY(resolve_image(config.image));
  ContainerConfig c = config;
  std::string id = random_id();
  if (c.name.empty()) c.name = "tiffin_" + id.substr(0, 8);
  auto insert = TRY(sql::Stmt::prepare(db_, "INSERT INTO containers (id, name, image, image_id, config, created) VALUES (?, ?, ?, ?, ?, ?)"));
  insert.bind(1, id).bind(2, c.name).bind(3, c.image).bind(4, image.id).bind(5, container_config_to_json(c).dump());
  insert.bind(6, static_cast<int64_t>(::time(nullptr)));
  if (auto r = insert.run(); !r) {
    if (sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_UNIQUE)
      return fail(Errc::conflict, "the container name \"" + c.name + "\" is already in use; remove that container or choose another name");
    return std::unexpected(r.error());
  }
  // From here a failure removes what was made, the record last.
  auto made = [&]() -> Result<void> {
    std::error_code ec;
    fs::create_directories(container_dir(id), ec);
    if (ec) return fail(Errc::io, "making " + container_dir(id) + ": " + ec.message());
    ::chmod(container_dir(id).c_str(), 0711);
    TRY(prepare_rootfs(id, c, image));
    TRY(write_bundle(id, c, image));
    shim::ShimStatus status;
    return write_text(container_dir(id) + "/status.json", shim::format_shim_status(status));
  }();
  if (!made) {
    (void)remove(id, true);
    return std::unexpected(made.error());
  }
  return id;
}

Result<UniqueFd> Engine::launch_shim(const std::string& ref, bool attach_first, bool auto_remove) {
  std::string id = TRY(resolve_container(ref));
  ContainerInfo info = TRY(load_container(id));
  if (info.shim_alive) {
    if (info.state == "running" || info.state == "paused" || info.state == "restarting")
      return fail(Errc::conflict, "container " + info.name + " is already running");
    // A shim still finishing a previous run: give it a moment to go.
    wait_until([&] { return !shim_alive(id); }, std::chrono::seconds(5));
  }
  // The rootfs again, in case a reboot or a fault took the mounts away.
  ImageInfo image;
  image.id = info.image_id;
  image.flist = opts_.root + "/images/" + info.image_id + ".fl";
  TRY(prepare_rootfs(id, info.config, image));
  std::string run = shim_dir(id);
  std::error_code ec;
  fs::create_directories(run, ec);
  if (ec) return fail(Errc::io, "making " + run + ": " + ec.message());
  if (run.size() + sizeof("/console.sock") > 108)  // sun_path holds 108 bytes with its NUL
    return fail(Errc::invalid_input, "--run-root is too long for the shim's unix sockets (at most 30 characters): " + opts_.run_root);
  (void)runtime::delete_container({runtime_root(), false}, id, true);  // what a killed shim left

  shim::ShimConfig sc;
  sc.id = id;
  sc.bundle = container_dir(id);
  sc.runtime_root = runtime_root();
  sc.state_dir = container_dir(id);
  sc.run_dir = run;
  sc.stdout_redis = info.config.log_stdout;
  sc.stderr_redis = info.config.log_stderr;
  sc.stats_redis = info.config.stats_redis;
  sc.restart = info.config.restart;
  sc.tty = info.config.tty;
  sc.open_stdin = info.config.interactive;
  sc.attach_first = attach_first;
  sc.auto_remove = auto_remove;
  sc.loopback = info.config.network != "host";
  sc.tiffin = opts_.tiffin_binary;
  sc.root = opts_.root;
  sc.run_root = opts_.run_root;
  std::string conf = container_dir(id) + "/shim.conf";
  TRY(write_text(conf, shim::format_shim_config(sc)));

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd ready(p[0]), ready_w(p[1]);
  pid_t pid = TRY(spawn({opts_.shim_binary, conf}, [w = ready_w.get()] {
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0) return false;
    return ::dup2(w, 3) >= 0;  // dup2 clears close-on-exec
  }));
  ready_w.reset();
  wait_exit(pid);  // the shim detached; this was its first process
  std::string line;
  char ch;
  while (::read(ready.get(), &ch, 1) == 1 && ch != '\n') line += ch;
  if (line != "listening") {
    if (line.starts_with("error ")) return fail(Errc::io, "starting the shim: " + line.substr(line.find(' ', 6) + 1));
    return fail(Errc::internal, "the shim of " + short_id(id) + " did not start (is " + opts_.shim_binary + " there?)");
  }
  return ready;
}

Result<StartResult> Engine::read_start_result(int ready_fd) {
  std::string line;
  char ch;
  while (::read(ready_fd, &ch, 1) == 1 && ch != '\n') line += ch;
  StartResult r;
  if (line.starts_with("ok ")) {
    r.pid = std::atoi(line.c_str() + 3);
    return r;
  }
  if (line.starts_with("error ")) {
    std::string rest = line.substr(6);
    r.exit_code = std::atoi(rest.c_str());
    r.error = rest.substr(rest.find(' ') + 1);
    return r;
  }
  return StartResult{0, 125, "the shim exited without starting the container"};
}

Result<StartResult> Engine::start(const std::string& ref) {
  UniqueFd ready = TRY(launch_shim(ref, false, false));
  return read_start_result(ready.get());
}

Result<ContainerInfo> Engine::load_container(const std::string& id) {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT name, image, image_id, config, created FROM containers WHERE id = ?"));
  st.bind(1, id);
  if (!TRY(st.step())) return fail(Errc::not_found, "no such container: " + id);
  ContainerInfo info;
  info.id = id;
  info.name = st.text(0);
  info.image = st.text(1);
  info.image_id = st.text(2);
  json cfg = json::parse(st.text(3), nullptr, false);
  if (cfg.is_discarded()) return fail(Errc::corrupt, "container " + id + ": its stored config is not JSON");
  info.config = TRY(container_config_from_json(cfg));
  info.created = st.i64(4);
  refresh_state(info);
  return info;
}

void Engine::refresh_state(ContainerInfo& info) const {
  json status = json::parse(read_text(container_dir(info.id) + "/status.json"), nullptr, false);
  if (status.is_object()) {
    info.state = status.value("state", "created");
    info.pid = status.value("pid", 0);
    info.exit_code = status.value("exit_code", 0);
    info.restart_count = status.value("restart_count", 0);
    info.started_at = status.value("started_at", "");
    info.finished_at = status.value("finished_at", "");
    info.error = status.value("error", "");
  } else {
    info.state = "created";
  }
  info.shim_alive = shim_alive(info.id);
  // The live system decides: a shim killed mid-run leaves "running" in its file.
  auto rt = runtime::container_state({runtime_root(), false}, info.id);
  if (rt && (rt->status == runtime::Status::running || rt->status == runtime::Status::paused)) {
    info.state = rt->status == runtime::Status::paused ? "paused" : "running";
    info.pid = rt->state.pid;
  } else if (info.state == "running" || (info.state == "restarting" && !info.shim_alive)) {
    info.state = "exited";
    if (!info.shim_alive && info.exit_code == 0) info.exit_code = 137;  // killed along with its shim
    info.pid = 0;
  }
}

Result<ContainerInfo> Engine::inspect(const std::string& ref) { return load_container(TRY(resolve_container(ref))); }

Result<std::vector<ContainerInfo>> Engine::list(const ContainerFilter& filter) {
  std::vector<std::string> ids;
  {
    auto st = TRY(sql::Stmt::prepare(db_, "SELECT id FROM containers ORDER BY created DESC, rowid DESC"));
    while (TRY(st.step())) ids.push_back(st.text(0));
  }
  std::vector<ContainerInfo> out;
  for (const auto& id : ids) {
    auto info = load_container(id);
    if (!info) continue;  // removed meanwhile by another CLI
    bool active = info->state == "running" || info->state == "paused" || info->state == "restarting";
    bool keep = filter.all || active;
    for (const auto& [key, value] : filter.filters) {
      if (key == "name") keep = keep && info->name.find(value) != std::string::npos;
      else if (key == "id") keep = keep && info->id.starts_with(value);
      else if (key == "status") keep = info->state == value;  // docker: a status filter implies -a
      else if (key == "ancestor") keep = keep && (info->image == value || info->image_id.starts_with(value));
      else if (key == "exited") keep = keep && info->state == "exited" && std::to_string(info->exit_code) == value;
    }
    if (keep) out.push_back(std::move(*info));
  }
  return out;
}

Result<void> Engine::stop(const std::string& ref, std::chrono::seconds timeout) {
  std::string id = TRY(resolve_container(ref));
  runtime::RuntimeOptions rt{runtime_root(), false};
  TRY(write_text(container_dir(id) + "/stop-requested", ""));
  auto running = [&] {
    auto s = runtime::container_state(rt, id);
    return s && s->status != runtime::Status::stopped;
  };
  if (running()) {
    auto paused = runtime::container_state(rt, id);
    if (paused && paused->status == runtime::Status::paused) (void)runtime::resume_container(rt, id);
    (void)runtime::kill_container(rt, id, SIGTERM, false);
    if (!wait_until([&] { return !running(); }, timeout)) (void)runtime::kill_container(rt, id, SIGKILL, true);
  }
  // The shim records the exit (and applies no restart policy after a stop).
  if (!wait_until([&] { return !shim_alive(id); }, std::chrono::seconds(10)))
    return fail(Errc::io, "container " + short_id(id) + ": its shim did not finish after the stop");
  return {};
}

Result<void> Engine::kill(const std::string& ref, int signal) {
  std::string id = TRY(resolve_container(ref));
  ContainerInfo info = TRY(load_container(id));
  if (info.state != "running" && info.state != "paused")
    return fail(Errc::conflict, "container " + info.name + " is not running");
  if (signal == SIGKILL) TRY(write_text(container_dir(id) + "/stop-requested", ""));  // docker: kill is a stop
  return runtime::kill_container({runtime_root(), false}, id, signal, false);
}

Result<void> Engine::pause(const std::string& ref, bool pause) {
  std::string id = TRY(resolve_container(ref));
  runtime::RuntimeOptions rt{runtime_root(), false};
  return pause ? runtime::pause_container(rt, id) : runtime::resume_container(rt, id);
}

Result<void> Engine::remove(const std::string& ref, bool force) {
  std::string id = TRY(resolve_container(ref));
  auto loaded = load_container(id);
  runtime::RuntimeOptions rt{runtime_root(), false};
  if (loaded) {
    const ContainerInfo& info = *loaded;
    bool active = info.state == "running" || info.state == "paused" || info.state == "restarting";
    if (active && !force)
      return fail(Errc::conflict, "cannot remove running container " + info.name + ": stop it first, or use --force");
    if (active || info.shim_alive) {
      (void)write_text(container_dir(id) + "/stop-requested", "");
      (void)runtime::kill_container(rt, id, SIGKILL, true);
      if (!wait_until([&] { return !shim_alive(id); }, std::chrono::seconds(5))) {
        pid_t shim = pid_of(shim_dir(id) + "/shim.pid");
        if (shim > 0 && shim_alive(id)) ::kill(shim, SIGKILL);
      }
    }
  }
  (void)runtime::delete_container(rt, id, true);
  if (loaded) TRY(release_rootfs(id, loaded->config, loaded->image_id));
  // Never delete through a mount: that would delete the image's or a volume's files.
  for (const auto& m : read_mountinfo().value_or(std::vector<MountInfo>{}))
    if (m.mount_point.starts_with(container_dir(id) + "/"))
      return fail(Errc::io, "container " + short_id(id) + ": " + m.mount_point + " is still mounted");
  std::error_code ec;
  fs::remove_all(shim_dir(id), ec);
  fs::remove_all(container_dir(id), ec);
  if (ec) return fail(Errc::io, "removing " + container_dir(id) + ": " + ec.message());
  auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM containers WHERE id = ?"));
  return del.bind(1, id).run();
}

Result<int> Engine::wait(const std::string& ref) {
  std::string id = TRY(resolve_container(ref));
  for (;;) {
    auto info = load_container(id);
    if (!info) return std::unexpected(info.error());
    bool active = info->state == "running" || info->state == "paused" || info->state == "restarting";
    if (!active && !info->shim_alive) return info->exit_code;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::vector<std::string>> Engine::prune(bool all, bool with_volumes) {
  std::vector<std::string> out;
  for (const auto& c : TRY(list({true, {}}))) {
    if (c.state != "exited" && c.state != "created") continue;
    if (c.shim_alive) continue;
    TRY(remove(c.id, false));
    out.push_back("Deleted container: " + c.id);
  }
  for (const auto& img : TRY(images())) {
    auto users = TRY(sql::Stmt::prepare(db_, "SELECT count(*) FROM containers WHERE image_id = ?"));
    users.bind(1, img.id);
    TRY(users.step());
    if (users.i64(0) > 0 || (!all && !img.tags.empty())) continue;
    auto del_tags = TRY(sql::Stmt::prepare(db_, "DELETE FROM tags WHERE image = ?"));
    TRY(del_tags.bind(1, img.id).run());
    auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM images WHERE id = ?"));
    TRY(del.bind(1, img.id).run());
    ::unlink(img.flist.c_str());
    out.push_back("Deleted image: " + img.id);
  }
  // Mounts of images no container uses any more.
  for (const auto& entry : fs::directory_iterator(opts_.run_root + "/mounts")) {
    if (entry.path().extension().empty() && entry.is_directory()) release_flist_mount(entry.path().string());
  }
  if (with_volumes) {
    for (const auto& v : TRY(volumes())) {
      if (remove_volume(v.name, false)) out.push_back("Deleted volume: " + v.name);
    }
  }
  return out;
}

}  // namespace tiffin::engine
