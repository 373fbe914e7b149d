// Container records: create, remove, find, list, and the state each shows.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "common/hex.hpp"
#include "common/remove_tree.hpp"
#include "engine/engine.hpp"
#include "engine/flist_mounts.hpp"
#include "net/netns.hpp"
#include "runtime/container.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;
using json = nlohmann::json;

Result<std::string> random_id() {
  uint8_t bytes[32];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) return fail_errno("getrandom");
  return to_hex(std::span<const uint8_t>(bytes, sizeof bytes));
}

namespace {

std::optional<ShimStatus> read_status(const std::string& path) {
  auto data = read_file(path, 1 << 16);
  if (!data) return std::nullopt;
  auto s = shim::decode_status(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()));
  return s ? std::optional(*s) : std::nullopt;
}

}  // namespace

Result<ContainerFilter> parse_container_filter(bool all, const std::vector<std::string>& key_values) {
  ContainerFilter f{all, {}};
  for (const auto& kv : key_values) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return fail(Errc::invalid_input, "filter '" + kv + "' is not key=value");
    std::string key = kv.substr(0, eq);
    if (key != "name" && key != "id" && key != "status" && key != "ancestor" && key != "exited" && key != "label" && key != "health")
      return fail(Errc::invalid_input, "unknown filter '" + key + "'");
    if (key == "status" && !shim::parse_status(kv.substr(eq + 1)))
      return fail(Errc::invalid_input, "unknown status '" + kv.substr(eq + 1) + "'");
    f.filters.emplace(key, kv.substr(eq + 1));
  }
  return f;
}

bool container_matches(const ContainerFilter& f, const ContainerInfo& c) {
  auto status = c.state.status;
  // A status filter asks for containers in any state (docker: it implies -a).
  if (!f.all && !is_active(status) && !f.filters.contains("status")) return false;
  // docker's rule: values of one key are alternatives, except labels, which all must hold.
  for (auto it = f.filters.begin(); it != f.filters.end(); it = f.filters.upper_bound(it->first)) {
    const std::string& key = it->first;
    auto [first, last] = f.filters.equal_range(key);
    auto one = [&](const std::string& value) {
      if (key == "name") return c.name.find(value) != std::string::npos;
      if (key == "id") return c.id.starts_with(value);
      if (key == "status") return status_name(status) == value;
      if (key == "ancestor") return c.image == value || c.image_id.starts_with(value);
      if (key == "exited") return status == ContainerStatus::exited && std::to_string(c.state.exit_code) == value;
      if (key == "health") return (c.state.health.status.empty() ? "none" : c.state.health.status) == value;
      if (key == "label") {
        size_t eq = value.find('=');
        auto l = c.config.labels.find(value.substr(0, eq));
        return l != c.config.labels.end() && (eq == std::string::npos || l->second == value.substr(eq + 1));
      }
      return false;
    };
    bool any = false, all = true;
    for (auto v = first; v != last; ++v) {
      bool m = one(v->second);
      any = any || m;
      all = all && m;
    }
    if (!(key == "label" ? all : any)) return false;
  }
  return true;
}

bool Engine::shim_alive(const std::string& id) const { return engine::shim_alive(shim_dir(id)); }

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

Result<std::vector<Engine::Record>> Engine::records(const std::string& where_id) {
  std::string sql = "SELECT id, name, image, image_id, config, created FROM containers";
  sql += where_id.empty() ? " ORDER BY created DESC, rowid DESC" : " WHERE id = ?";
  auto st = TRY(sql::Stmt::prepare(db_, sql));
  if (!where_id.empty()) st.bind(1, where_id);
  std::vector<Record> out;
  while (TRY(st.step())) out.push_back({st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.i64(5)});
  return out;
}

Result<void> Engine::drop_record(const std::string& id, bool volumes) {
  std::vector<std::string> anonymous;
  for (const auto& r : TRY(records(id))) {
    auto config = container_config_from_json(json::parse(r.config_json, nullptr, false));
    if (config && (volumes || config->auto_remove)) anonymous = config->anonymous_volumes;
  }
  auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM containers WHERE id = ?"));
  TRY(del.bind(1, id).run());
  // After the record: nothing refers to them any more.
  for (const auto& name : anonymous)
    if (auto r = remove_volume(name, true); !r && r.error().kind != Errc::not_found) return r;
  return {};
}

Result<ContainerInfo> Engine::load(const Record& r) {
  ContainerInfo info;
  info.id = r.id;
  info.name = r.name;
  info.image = r.image;
  info.image_id = r.image_id;
  info.created = r.created;
  json cfg = json::parse(r.config_json, nullptr, false);
  if (cfg.is_discarded()) return fail(Errc::corrupt, "container " + r.id + ": its stored config is not JSON");
  info.config = TRY(container_config_from_json(cfg));
  info.shim_alive = shim_alive(r.id);
  auto recorded = read_status(container_dir(r.id) + "/status");
  std::optional<RuntimeView> rt;
  if (needs_runtime_view(recorded, info.shim_alive))
    if (auto s = runtime::container_state({runtime_root(), false}, r.id)) rt = RuntimeView{s->status, s->state.pid};
  info.state = derive_state(recorded, info.shim_alive, rt);
  return info;
}

Result<ContainerInfo> Engine::load_container(const std::string& id) {
  auto found = TRY(records(id));
  if (found.empty()) return fail(Errc::not_found, "no such container: " + id);
  return load(found.front());
}

Result<ContainerInfo> Engine::inspect(const std::string& ref) { return load_container(TRY(resolve_container(ref))); }

Result<std::vector<ContainerInfo>> Engine::list(const ContainerFilter& filter) {
  std::vector<ContainerInfo> out;
  for (const auto& r : TRY(records())) {
    struct stat st;
    if (::stat(container_dir(r.id).c_str(), &st) != 0) {
      // Its directory went before its record: a --rm container its shim removed, or a removal
      // that was cut short. Finish the job.
      if (errno == ENOENT && !shim_alive(r.id)) (void)drop_record(r.id, false);
      continue;
    }
    auto info = load(r);
    if (!info) continue;
    if (container_matches(filter, *info)) out.push_back(std::move(*info));
  }
  return out;
}

Result<std::string> Engine::create(const ContainerConfig& config) {
  TRY(validate_container_config(config));
  ImageInfo image = TRY(resolve_image(config.image, config.pull));
  // Before anything is made, and for images of the store too: the policy may have changed
  // since the image came (trust_policy.hpp). Without require-signed this reads one small file.
  if (auto policy = TRY(trust_policy()); policy.require_signed()) TRY(policy.check_signatures(TRY(image_signatures(image)), config.image));
  ContainerConfig c = config;
  ImageConfig image_cfg = TRY(image_config(image));
  if (c.stop_signal.empty()) c.stop_signal = image_cfg.stop_signal;
  TRY(add_anonymous_volumes(c, image_cfg));
  if (!c.stop_signal.empty()) TRY_CTX(runtime::parse_signal(c.stop_signal), "stop signal");
  std::string id = TRY(random_id());
  if (c.name.empty()) c.name = "tiffin_" + id.substr(0, 8);
  // The directory first: a record never exists without it (see engine.hpp).
  if (::mkdir(container_dir(id).c_str(), 0711) != 0) return fail_errno("making " + container_dir(id));
  auto insert =
      TRY(sql::Stmt::prepare(db_, "INSERT INTO containers (id, name, image, image_id, config, created) VALUES (?, ?, ?, ?, ?, ?)"));
  insert.bind(1, id).bind(2, c.name).bind(3, c.image).bind(4, image.id).bind(5, container_config_to_json(c).dump());
  insert.bind(6, static_cast<int64_t>(::time(nullptr)));
  if (auto r = insert.run(); !r) {
    ::rmdir(container_dir(id).c_str());
    if (sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_UNIQUE) return std::unexpected(name_taken(c.name));
    return std::unexpected(r.error());
  }
  // From here a failure removes what was made, the record last. The network namespace is made
  // on a thread of its own meanwhile (it costs as much as the rootfs, and needs nothing of it);
  // the bundle is written when the container starts, as docker makes its spec then.
  if (auto leased = lease_network(id, c, image); !leased) {
    (void)remove(id, true, true);
    return std::unexpected(leased.error());
  }
  Result<void> network;
  std::thread net([&] { network = prepare_network(id, c); });
  auto made = prepare_rootfs(id, c, image);
  net.join();
  if (made && !network) made = std::unexpected(network.error());
  if (made) made = fill_volumes(id, c);
  if (!made) {
    (void)remove(id, true, true);
    return std::unexpected(made.error());
  }
  record_container_event(ContainerInfo{id, c.name, c.image, image.id, c, 0, {}, false}, "create");
  return id;
}

Result<void> Engine::remove(const std::string& ref, bool force, bool volumes) {
  std::string id = TRY(resolve_container(ref));
  // Its shim took it down already (--rm): what is left is the record.
  struct stat st;
  if (::stat(container_dir(id).c_str(), &st) != 0 && errno == ENOENT && !shim_alive(id)) {
    TRY(release_network(id));
    return drop_record(id, volumes);
  }
  auto loaded = load_container(id);
  if (loaded) {
    const ContainerInfo& info = *loaded;
    if (is_active(info.state.status) && !force)
      return fail(Errc::conflict, "cannot remove running container " + info.name + ": stop it first, or use --force");
    if (is_active(info.state.status) || info.shim_alive) TRY(stop(id, std::chrono::milliseconds(0), 9));
  }
  runtime::RuntimeOptions rt{runtime_root(), false};
  if (auto r = runtime::delete_container(rt, id, true); !r && r.error().kind != Errc::not_found) return r;
  if (loaded) TRY(release(id, loaded->config, loaded->image_id));
  else TRY(release_network(id));
  TRY(remove_tree(shim_dir(id)));
  TRY(remove_tree(container_dir(id)));
  TRY(drop_record(id, volumes));
  if (loaded) record_container_event(*loaded, "destroy");
  else record_event({"container", "destroy", id, {}});
  return {};
}

// docker's words, which scripts match.
Error Engine::name_taken(const std::string& name) {
  std::string holder;
  if (auto st = sql::Stmt::prepare(db_, "SELECT id FROM containers WHERE name = ?"); st && st->bind(1, name).step().value_or(false))
    holder = st->text(0);
  return Error{Errc::conflict, 0,
      "Conflict. The container name \"/" + name + "\" is already in use by container \"" + holder +
          "\". You have to remove (or rename) that container to be able to reuse that name."};
}

Result<void> Engine::rename(const std::string& ref, const std::string& name) {
  ContainerInfo c = TRY(inspect(ref));
  std::string wanted = name.starts_with("/") ? name.substr(1) : name;
  if (!valid_container_name(wanted))
    return fail(Errc::invalid_input, "Invalid container name (" + name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  if (wanted == c.name) return fail(Errc::invalid_input, "Renaming a container with the same name as its current name");
  auto st = TRY(sql::Stmt::prepare(db_, "UPDATE containers SET name = ? WHERE id = ?"));
  if (auto r = st.bind(1, wanted).bind(2, c.id).run(); !r) {
    if (sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_UNIQUE) return std::unexpected(name_taken(wanted));
    return std::unexpected(r.error());
  }
  // Its name on its networks.
  TRY(sync_dns_of(TRY(container_endpoints(c.id))));
  std::string old = std::exchange(c.name, wanted);
  record_container_event(c, "rename", {{"oldName", "/" + old}});
  return {};
}

Result<std::vector<std::string>> Engine::prune(bool all, bool with_volumes) {
  std::vector<std::string> out;
  for (const auto& c : TRY(list({true, {}}))) {
    if (is_active(c.state.status) || c.shim_alive) continue;
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
    ::unlink(signatures_path(img.id).c_str());
    out.push_back("Deleted image: " + img.id);
  }
  // With `all`, the converted layer chains of registry images too (<root>/layers: a cache that
  // only saves converting a layer again).
  if (all) {
    std::error_code ec;
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(opts_.root + "/layers", ec))
      if (entry.path().extension() == ".fl" && fs::remove(entry.path(), ec)) ++n;
    if (n) out.push_back("Deleted converted layer chains: " + std::to_string(n));
  }
  // Mounts of images no container uses any more.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(opts_.run_root + "/mounts", ec))
    if (entry.path().extension().empty() && entry.is_directory(ec)) release_flist_mount(entry.path().string());
  if (with_volumes) {
    for (const auto& v : TRY(volumes()))
      if (remove_volume(v.name, false)) out.push_back("Deleted volume: " + v.name);
  }
  return out;
}

}  // namespace tiffin::engine
