// Fetching images into the store: pulls from a hub, imports of directories, tars and .fl
// files. The only part of the engine that needs the HTTP client and the packer; linked into
// tiffin-full, not into the lean tiffin (see fetch_images_in_process).
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "common/fd.hpp"
#include "common/hash.hpp"
#include "engine/engine.hpp"
#include "engine/image_reference.hpp"
#include "flist/content.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "hub/push.hpp"
#include "store/router.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;

namespace {

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
  TRY(insert.bind(1, id)
          .bind(2, source)
          .bind(3, static_cast<int64_t>(::time(nullptr)))
          .bind(4, static_cast<int64_t>(content_size(tree)))
          .bind(5, image_config_to_json(config))
          .run());
  if (!tag.empty()) {
    auto t = TRY(sql::Stmt::prepare(db_, "INSERT OR REPLACE INTO tags (name, image) VALUES (?, ?)"));
    TRY(t.bind(1, tag).bind(2, id).run());
  }
  auto info = TRY(find_image(id));
  if (!info) return fail(Errc::internal, "image " + id + " vanished");
  return *info;
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
  std::string tag = name.empty() ? "" : normalize_image_name(name);
  if (TRY(parse_image_reference(source)).kind == ImageReference::Kind::flist_file)
    return add_image_file(source, fs::absolute(source).string(), tag);
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
  auto info = add_image_file(tmp, fs::absolute(source).string(), tag);
  ::unlink(tmp.c_str());
  return info;
}

Result<ImageInfo> fetch_image_in_process(Engine& engine, const ImageReference& ref) {
  if (ref.kind == ImageReference::Kind::hub) return engine.pull(ref.text);
  return engine.import(ref.path, "", {});
}

}  // namespace tiffin::engine
