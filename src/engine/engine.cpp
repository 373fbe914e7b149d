// The engine's state database and its image store.
#include "engine/engine.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "common/fd.hpp"
#include "common/hash.hpp"
#include "engine/flist_mounts.hpp"
#include "engine/image_reference.hpp"
#include "flist/content.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "hub/push.hpp"
#include "store/router.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, source TEXT NOT NULL, created INTEGER NOT NULL, size INTEGER NOT NULL,
  config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tags (name TEXT PRIMARY KEY, image TEXT NOT NULL REFERENCES images(id));
CREATE TABLE IF NOT EXISTS containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image TEXT NOT NULL,
  image_id TEXT NOT NULL, config TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, size_mib INTEGER NOT NULL, created INTEGER NOT NULL);
)";

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("tiffin") : p.string();
}

Result<std::string> file_id(const std::string& path) {
  Bytes data = TRY(read_file(path));
  return to_hex(blake2b256(data));
}

Result<ImageConfig> read_image_config(const Tree& tree) {
  if (tree.config) return *tree.config;
  // 0-hub's /.startup.toml needs a block read: only when the flist stores no config.
  std::shared_ptr<Router> router;
  if (!tree.routes.empty()) {
    auto r = open_routes(tree.routes);
    if (r) router = *r;
  }
  auto cfg = TRY(tiffin::image_config(tree, router.get()));
  return cfg.value_or(ImageConfig{});
}

uint64_t content_size(const Tree& tree) {
  uint64_t total = 0;
  for (const auto& n : tree.nodes) total += n.size;
  return total;
}

}  // namespace

Result<Engine> Engine::open(EngineOptions opts) {
  if (opts.tiffin_binary.empty()) opts.tiffin_binary = self_exe();
  if (opts.shim_binary.empty()) opts.shim_binary = (fs::path(opts.tiffin_binary).parent_path() / "tiffin-shim").string();
  for (const auto& d : {opts.root + "/images", opts.root + "/containers", opts.root + "/volumes", opts.run_root + "/mounts",
                        opts.run_root + "/c"}) {
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) return fail(Errc::io, "making " + d + ": " + ec.message());
  }
  ::chmod(opts.root.c_str(), 0700);
  ::chmod(opts.run_root.c_str(), 0700);
  sql::Db db = TRY(sql::Db::open_readwrite(opts.root + "/tiffin.db", true));
  sqlite3_busy_timeout(db.get(), 10000);
  TRY(db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  TRY(db.exec(kSchema));
  return Engine(std::move(opts), std::move(db));
}

Result<ImageInfo> Engine::add_image_file(const std::string& flist_path, const std::string& source, const std::string& tag) {
  Tree tree = TRY_CTX(load_flist(flist_path), "reading " + flist_path);
  std::string id = TRY(file_id(flist_path));
  std::string stored = opts_.root + "/images/" + id + ".fl";
  if (::access(stored.c_str(), F_OK) != 0) {
    Bytes data = TRY(read_file(flist_path));
    TRY(write_file_atomic(stored, data, 0644, true));
  }
  // The image config is read once here (for a 0-hub flist that means fetching /.startup.toml),
  // so creating a container never parses the flist.
  ImageConfig config = TRY(read_image_config(tree));
  auto insert = TRY(sql::Stmt::prepare(db_, "INSERT OR IGNORE INTO images (id, source, created, size, config) VALUES (?, ?, ?, ?, ?)"));
  TRY(insert.bind(1, id).bind(2, source).bind(3, static_cast<int64_t>(::time(nullptr))).bind(4, static_cast<int64_t>(content_size(tree)))
          .bind(5, image_config_to_json(config)).run());
  if (!tag.empty()) {
    auto t = TRY(sql::Stmt::prepare(db_, "INSERT OR REPLACE INTO tags (name, image) VALUES (?, ?)"));
    TRY(t.bind(1, tag).bind(2, id).run());
  }
  auto info = TRY(find_image(id));
  if (!info) return fail(Errc::internal, "image " + id + " vanished");
  return *info;
}

Result<std::optional<ImageInfo>> Engine::find_image(const std::string& ref) {
  std::string id;
  {
    auto byname = TRY(sql::Stmt::prepare(db_, "SELECT image FROM tags WHERE name = ? OR name = ?"));
    byname.bind(1, ref).bind(2, normalize_image_name(ref));
    if (TRY(byname.step())) id = byname.text(0);
  }
  if (id.empty() && ref.size() >= 4 && ref.find_first_not_of("0123456789abcdef") == std::string::npos) {
    auto byid = TRY(sql::Stmt::prepare(db_, "SELECT id FROM images WHERE id LIKE ? || '%'"));
    byid.bind(1, ref);
    while (TRY(byid.step())) {
      if (!id.empty()) return fail(Errc::conflict, "image id prefix " + ref + " is ambiguous");
      id = byid.text(0);
    }
  }
  if (id.empty()) return std::optional<ImageInfo>{};
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT source, created, size FROM images WHERE id = ?"));
  st.bind(1, id);
  if (!TRY(st.step())) return std::optional<ImageInfo>{};
  ImageInfo info{id, {}, st.text(0), st.i64(1), static_cast<uint64_t>(st.i64(2)), opts_.root + "/images/" + id + ".fl"};
  auto tags = TRY(sql::Stmt::prepare(db_, "SELECT name FROM tags WHERE image = ? ORDER BY name"));
  tags.bind(1, id);
  while (TRY(tags.step())) info.tags.push_back(tags.text(0));
  return std::optional<ImageInfo>{std::move(info)};
}

Result<ImageInfo> Engine::pull(const std::string& ref_text) {
  auto ref = TRY(parse_image_reference(ref_text));
  if (ref.kind != ImageReference::Kind::hub)
    return fail(Errc::invalid_input, "'" + ref_text + "' is not a hub image (http(s)://hub/user/name:tag or hub/user/name:tag)");
  auto loc = TRY(hub::parse_hub_location(ref.hub_url));
  std::string tmp = opts_.root + "/images/.pull-" + std::to_string(::getpid()) + ".fl";
  auto pulled = hub::pull_flist(loc, tmp);
  if (!pulled) {
    ::unlink(tmp.c_str());
    if (pulled.error().kind == Errc::not_found)
      return fail(Errc::not_found, "no such image: " + ref_text + " (" + pulled.error().message + ")");
    return std::unexpected(std::move(pulled).error().context("pulling " + ref.hub_url));
  }
  auto info = add_image_file(tmp, ref.hub_url, ref.name);
  ::unlink(tmp.c_str());
  return info;
}

Result<ImageInfo> Engine::import(const std::string& source, const std::string& name, const ImageConfig& config) {
  Tree tree;
  if (!config.empty()) tree.config = config;
  std::string blocks = "dir://" + fs::absolute(opts_.root + "/blocks").string();
  auto router = TRY(open_router({blocks}, true));
  TRY_CTX(pack(source, *router, tree, {0, opts_.progress, nullptr}), "importing " + source);
  tree.routes = router->routes();
  std::string tmp = opts_.root + "/images/.import-" + std::to_string(::getpid()) + ".fl";
  auto saved = save_flist(tmp, tree);
  if (!saved) {
    ::unlink(tmp.c_str());
    return std::unexpected(saved.error());
  }
  auto info = add_image_file(tmp, fs::absolute(source).string(), name.empty() ? "" : normalize_image_name(name));
  ::unlink(tmp.c_str());
  return info;
}

Result<ImageInfo> Engine::resolve_image(const std::string& text, bool pull_missing) {
  auto ref = TRY(parse_image_reference(text));
  switch (ref.kind) {
    case ImageReference::Kind::flist_file:
      return add_image_file(ref.path, fs::absolute(ref.path).string(), "");
    case ImageReference::Kind::source:
      return import(ref.path, "", {});
    case ImageReference::Kind::hub: {
      if (auto found = TRY(find_image(ref.name))) return *found;
      if (!pull_missing) return fail(Errc::not_found, "no such image: " + text);
      return pull(text);
    }
    case ImageReference::Kind::local:
      break;
  }
  if (auto found = TRY(find_image(ref.name))) return *found;
  return fail(Errc::not_found, "no such image: " + text);
}

Result<std::vector<ImageInfo>> Engine::images() {
  std::vector<ImageInfo> out;
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT id FROM images ORDER BY created DESC"));
  std::vector<std::string> ids;
  while (TRY(st.step())) ids.push_back(st.text(0));
  for (const auto& id : ids)
    if (auto info = TRY(find_image(id))) out.push_back(*info);
  return out;
}

Result<ImageConfig> Engine::image_config(const ImageInfo& image) {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT config FROM images WHERE id = ?"));
  st.bind(1, image.id);
  if (!TRY(st.step())) return fail(Errc::not_found, "no such image: " + image.id);
  return image_config_from_json(st.text(0));
}

Result<std::vector<std::string>> Engine::remove_image(const std::string& ref, bool force) {
  auto found = TRY(find_image(ref));
  if (!found) return fail(Errc::not_found, "no such image: " + ref);
  std::vector<std::string> out;
  std::string normalized = normalize_image_name(ref);
  bool by_tag = std::find(found->tags.begin(), found->tags.end(), normalized) != found->tags.end();
  auto users = TRY(sql::Stmt::prepare(db_, "SELECT name FROM containers WHERE image_id = ?"));
  users.bind(1, found->id);
  std::vector<std::string> in_use;
  while (TRY(users.step())) in_use.push_back(users.text(0));
  size_t remaining_tags = by_tag ? found->tags.size() - 1 : 0;
  if (remaining_tags == 0 && !in_use.empty())
    return fail(Errc::conflict, "image " + ref + " is in use by container " + in_use.front() + (force ? "" : " (remove it first)"));
  if (!by_tag && found->tags.size() > 1 && !force)
    return fail(Errc::conflict, "image " + short_id(found->id) + " has several tags; remove them by name, or use --force");
  auto del_tag = TRY(sql::Stmt::prepare(db_, "DELETE FROM tags WHERE name = ?"));
  for (const auto& t : found->tags) {
    if (by_tag && t != normalized) continue;
    TRY(del_tag.bind(1, t).run());
    out.push_back("Untagged: " + t);
  }
  if (remaining_tags == 0) {
    release_flist_mount(opts_.run_root + "/mounts/" + found->id);
    auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM images WHERE id = ?"));
    TRY(del.bind(1, found->id).run());
    ::unlink(found->flist.c_str());
    out.push_back("Deleted: " + found->id);
  }
  return out;
}

}  // namespace tiffin::engine
