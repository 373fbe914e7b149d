// Fetching images into the store: pulls from a hub, imports of directories, tars and .fl
// files. The only part of the engine that needs the HTTP client and the packer; linked into
// tiffin-full, not into the lean tiffin (see fetch_images_in_process).
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <filesystem>

#include "common/fd.hpp"
#include "common/hash.hpp"
#include "common/progress.hpp"
#include "common/remove_tree.hpp"
#include "engine/engine.hpp"
#include "engine/image_reference.hpp"
#include "flist/content.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "flist/signature.hpp"
#include "hub/hub_client.hpp"
#include "hub/hub_convert.hpp"
#include "hub/push.hpp"
#include "image/archive_writer.hpp"
#include "image/convert.hpp"
#include "image/image_export.hpp"
#include "image/layout_source.hpp"
#include "image/reference.hpp"
#include "image/registry_source.hpp"
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
  return store_image(flist_path, tree, source, tag, false);
}

Result<ImageInfo> Engine::store_image(
    const std::string& flist_path, const Tree& tree, const std::string& source, const std::string& tag, bool move) {
  // Every flist enters the store here: checked before read_image_config may read a block, and
  // its signatures recorded for the checks of every create (image_signatures.cpp). An unsigned
  // flist costs no digest.
  std::vector<SignatureCheck> signatures = tree.signatures.empty() ? std::vector<SignatureCheck>{} : verify(tree);
  TRY(TRY(trust_policy()).check_signatures(signatures, source));
  std::string id = TRY(file_id(flist_path));
  std::string stored = opts_.root + "/images/" + id + ".fl";
  if (::access(stored.c_str(), F_OK) != 0) {
    if (move) {
      TRY(rename_durable(flist_path, stored));
    } else {
      Bytes data = TRY(read_file(flist_path));
      TRY(write_file_atomic(stored, data, 0644, true));
    }
  }
  TRY(record_signatures(id, signatures));
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

Result<ImageInfo> Engine::add_image_tree(const Tree& tree, const std::string& source, const std::string& tag) {
  // Unique per process and thread: a build saves its stages' trees from several threads.
  static std::atomic<uint64_t> seq = 0;
  std::string tmp = opts_.root + "/images/.tree-" + std::to_string(::getpid()) + "-" + std::to_string(++seq) + ".fl";
  auto saved = save_flist(tmp, tree);
  auto info = saved ? store_image(tmp, tree, source, tag, true) : Result<ImageInfo>(std::unexpected(saved.error()));
  ::unlink(tmp.c_str());  // gone already when moved; left when the image was stored before
  return info;
}

namespace {

// Registries to try for a name without a host ("busybox"): $TIFFIN_SEARCH_REGISTRIES, a comma
// list ("" for none: such names are then only looked up locally), default docker.io.
std::vector<std::string> search_registries() {
  const char* env = ::getenv("TIFFIN_SEARCH_REGISTRIES");
  std::string text = env ? env : "docker.io";
  std::vector<std::string> out;
  for (size_t i = 0; i <= text.size();) {
    size_t j = std::min(text.find(',', i), text.size());
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Result<image::Platform> platform_of(const PullOptions& opts) {
  if (opts.platform.empty()) return image::host_platform();
  return image::parse_platform(opts.platform);
}

}  // namespace

Result<ImageInfo> Engine::add_converted_image(
    image::ImageSource& source, const PullOptions& opts, const std::vector<std::string>& tags, const std::string& origin) {
  image::Platform platform = TRY(platform_of(opts));
  auto holding = TRY(hold_blocks());
  std::string blocks = "dir://" + fs::absolute(opts_.root + "/blocks").string();
  auto router = TRY(open_router({blocks}, true));
  image::ConvertOptions co;
  co.cache_dir = opts_.root + "/layers";
  co.progress = opts_.progress;
  auto converted = TRY_CTX(image::convert_image(source, platform, *router, co), source.describe());
  TRY_CTX(router->flush(), "flushing the block store");
  converted.tree.routes = router->routes();
  std::string where = origin + (converted.manifest_digest.empty() ? "" : "@" + converted.manifest_digest);
  auto info = add_image_tree(converted.tree, where, tags.empty() ? "" : tags.front());
  if (!info) return info;
  for (size_t i = 1; i < tags.size(); ++i) TRY(tag_image(info->id, tags[i]));
  if (opts_.progress)
    fmt::print(stderr, "{}: {} layers ({} already converted), {} downloaded, {} converted\n", source.describe(), converted.layers,
        converted.layers_reused, human_bytes(converted.bytes_downloaded), human_bytes(converted.bytes_converted));
  return TRY(find_image(info->id)).value_or(*info);
}

Result<ImageInfo> Engine::pull_from_registry(const image::Reference& ref, const PullOptions& opts) {
  // Converted here, it could carry no signature: refused before a byte is downloaded.
  TRY(TRY(trust_policy()).check_unsigned_source("registry image " + ref.str()));
  image::RegistryOptions ro;
  ro.tls_verify = opts.tls_verify;
  image::RegistryClient client(ro);
  image::RegistrySource source(client, ref);
  std::vector<std::string> tags;
  if (ref.digest.empty()) tags.push_back(ref.familiar());
  return add_converted_image(source, opts, tags, ref.str());
}

Result<ImageInfo> Engine::pull(const std::string& ref_text, const PullOptions& opts) {
  auto got = pull_image(ref_text, opts);
  if (got) record_event({"image", "pull", ref_text, {{"name", ref_text}}});
  return got;
}

Result<ImageInfo> Engine::pull_image(const std::string& ref_text, const PullOptions& opts) {
  if (ref_text.starts_with("docker://")) return pull_from_registry(TRY(image::parse_reference(ref_text)), opts);
  auto ref = TRY(parse_image_reference(ref_text));
  if (ref.kind == ImageReference::Kind::local) {  // no host: the search registries, in order
    auto parsed = TRY(image::parse_reference(ref_text));
    auto registries = search_registries();
    if (registries.empty())
      return fail(Errc::not_found, "no such image: " + ref_text + " (and no registries to search: TIFFIN_SEARCH_REGISTRIES is empty)");
    Error last{Errc::not_found, 0, "no such image: " + ref_text};
    for (const auto& r : registries) {
      image::Reference in = parsed;
      if (r != "docker.io") {
        in.registry = r;
        if (in.repository.starts_with("library/") && ref_text.find('/') == std::string::npos) in.repository = in.repository.substr(8);
      }
      auto got = pull_from_registry(in, opts);
      if (got || got.error().kind != Errc::not_found) return got;
      last = got.error();
    }
    return std::unexpected(last);
  }
  if (ref.kind != ImageReference::Kind::hub)
    return fail(Errc::invalid_input, "'" + ref_text + "' is neither a registry image nor a hub image (http(s)://hub/user/name:tag)");
  if (!ref_text.starts_with("http://") && !ref_text.starts_with("https://")) {
    auto parsed = image::parse_reference(ref_text);
    if (parsed && image::answers_as_registry(*parsed, opts.tls_verify)) return pull_from_registry(*parsed, opts);
  }
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

Result<ImageInfo> Engine::pull_through_hub(
    const std::string& hub, const std::string& image, const std::string& token, const PullOptions& opts) {
  auto ns = TRY(hub::parse_hub_namespace(hub));
  if (token.empty()) return fail(Errc::invalid_input, "--hub needs a write token of " + ns.user + " (--token or $TIFFIN_HUB_TOKEN)");
  hub::FlistRef target = TRY(hub::flist_ref_for_image(ns.user, image));
  hub::HubClient client(ns.base, token);
  auto answer = TRY(client.convert(target, image, opts.platform));
  if (opts_.progress)
    fmt::print(stderr, "{}: {} on {} ({})\n", image, answer.value("converted", true) ? "converted" : "found converted", ns.base,
        answer.value("digest", ""));
  return pull(ns.base + "/" + target.str(), opts);
}

Result<std::vector<ImageInfo>> Engine::load(const std::string& archive, const PullOptions& opts) {
  TRY(TRY(trust_policy()).check_unsigned_source("image archive " + archive));
  std::string dir = archive;
  std::string unpacked;
  struct stat st {};
  if (archive == "-" || (::stat(archive.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))) {
    unpacked = opts_.root + "/tmp/load-" + std::to_string(::getpid());
    (void)remove_tree(unpacked);
    std::error_code ec;
    fs::create_directories(unpacked, ec);
    if (ec) return fail(Errc::io, "creating " + unpacked + ": " + ec.message());
    UniqueFd in(archive == "-" ? ::dup(STDIN_FILENO) : ::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return fail_errno("open " + archive);
    auto ok = image::unpack_image_archive(in.get(), unpacked);
    if (!ok) {
      (void)remove_tree(unpacked);
      return std::unexpected(std::move(ok).error().context("loading " + archive));
    }
    dir = unpacked;
  } else if (archive != "-" && ::stat(archive.c_str(), &st) != 0) {
    return fail(Errc::not_found, "loading " + archive + ": no such file or directory");
  }
  auto result = [&]() -> Result<std::vector<ImageInfo>> {
    auto images = TRY_CTX(image::open_image_layout(dir), "loading " + archive);
    std::vector<ImageInfo> out;
    for (auto& img : images) {
      std::vector<std::string> tags;
      for (const auto& n : img.names)
        if (auto r = image::parse_reference(n); r && r->digest.empty()) tags.push_back(r->familiar());
      out.push_back(TRY(add_converted_image(*img.source, opts, tags, fs::absolute(archive == "-" ? "stdin" : archive).string())));
      record_event({"image", "load", out.back().id, {{"name", tags.empty() ? out.back().id : tags.front()}}});
    }
    return out;
  }();
  if (!unpacked.empty()) (void)remove_tree(unpacked);
  return result;
}

namespace {

// An image of the store with a store to read its blocks from: its flist's routes, and this
// node's block store (imported and converted images keep their blocks there).
struct OpenedImage {
  Tree tree;
  std::shared_ptr<Router> store;
  ImageConfig config;
};

Result<OpenedImage> open_image(Engine& e, const ImageInfo& info) {
  OpenedImage o;
  o.tree = TRY_CTX(load_flist(info.flist), "reading " + info.flist);
  o.store = TRY(open_routes(o.tree.routes));
  o.config = TRY(e.image_config(info));
  return o;
}

}  // namespace

Result<void> Engine::save(const std::vector<std::string>& refs, const std::string& out) {
  if (refs.empty()) return fail(Errc::invalid_input, "save: no images given");
  std::string spool = opts_.root + "/tmp";
  std::error_code ec;
  fs::create_directories(spool, ec);
  std::vector<image::ExportedImage> exported;
  exported.reserve(refs.size());
  auto cleanup = [&] {
    for (const auto& x : exported) ::unlink(x.layer_path.c_str());
  };
  std::vector<image::ArchivedImage> archived;
  for (const auto& r : refs) {
    auto info = resolve_image(r, "never");
    if (!info) {
      cleanup();
      return std::unexpected(info.error());
    }
    auto done = [&]() -> Result<void> {
      auto img = TRY(open_image(*this, *info));
      exported.push_back(
          TRY_CTX(image::export_image(img.tree, *img.store, img.config, image::LayerCompression::none, spool), "saving " + r));
      return {};
    }();
    if (!done) {
      cleanup();
      return std::unexpected(done.error());
    }
    std::vector<std::string> names;
    if (r.find_first_of(":/") != std::string::npos || !info->id.starts_with(r)) names.push_back(normalize_image_name(r));
    archived.push_back({&exported.back(), names});
  }
  std::string tmp = out == "-" ? "" : out + ".tmp-" + std::to_string(::getpid());
  UniqueFd fd(out == "-" ? ::dup(STDOUT_FILENO) : ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) {
    cleanup();
    return fail_errno("creating " + out);
  }
  auto written = image::write_image_archive(archived, [&](std::span<const uint8_t> d) { return write_all(fd.get(), d); });
  cleanup();
  if (written && !tmp.empty() && ::rename(tmp.c_str(), out.c_str()) != 0) written = fail_errno("renaming to " + out);
  if (!written && !tmp.empty()) ::unlink(tmp.c_str());
  if (written)
    for (const auto& r : refs) record_event({"image", "save", r, {{"name", r}}});
  return written;
}

Result<std::string> Engine::push_to_registry(const std::string& ref, const std::string& destination, const PullOptions& opts, bool zstd) {
  auto info = TRY(resolve_image(ref, "never"));
  image::Reference to = TRY(image::parse_reference(destination));
  auto img = TRY(open_image(*this, info));
  std::string spool = opts_.root + "/tmp";
  std::error_code ec;
  fs::create_directories(spool, ec);
  auto exported = TRY_CTX(
      image::export_image(img.tree, *img.store, img.config, zstd ? image::LayerCompression::zstd : image::LayerCompression::gzip, spool),
      "pushing " + ref);
  auto pushed = [&]() -> Result<std::string> {
    image::RegistryOptions ro;
    ro.tls_verify = opts.tls_verify;
    image::RegistryClient client(ro);
    // Where this node pushed a blob before: another repository on the same registry lends it
    // (a cross-repository mount) instead of the bytes going up again.
    auto remember = [&](const std::string& digest) -> Result<void> {
      auto st = TRY(sql::Stmt::prepare(db_, "INSERT OR IGNORE INTO blob_locations (registry, repository, digest) VALUES (?, ?, ?)"));
      return st.bind(1, to.registry).bind(2, to.repository).bind(3, digest).run();
    };
    auto known_in = [&](const std::string& digest) -> Result<std::string> {
      auto st = TRY(sql::Stmt::prepare(db_, "SELECT repository FROM blob_locations WHERE registry = ? AND digest = ? AND repository != ?"));
      st.bind(1, to.registry).bind(2, digest).bind(3, to.repository);
      return TRY(st.step()) ? st.text(0) : std::string();
    };
    auto upload_file = [&](const image::Descriptor& d, const std::string& path) -> Result<void> {
      if (TRY(client.has_blob(to, d.digest))) return remember(d.digest);
      TRY(client.upload_blob(to, d, TRY(known_in(d.digest)), [&](const image::BlobSink& sink) -> Result<void> {
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return fail_errno("open " + path);
        Bytes buf(1 << 20);
        for (;;) {
          size_t n = TRY(read_full(fd.get(), buf));
          if (n == 0) return {};
          TRY(sink({buf.data(), n}));
        }
      }));
      return remember(d.digest);
    };
    TRY_CTX(upload_file(exported.layer, exported.layer_path), "uploading the layer");
    if (!TRY(client.has_blob(to, exported.config.digest)))
      TRY_CTX(client.upload_blob(to, exported.config, "", [&](const image::BlobSink& sink) { return sink(exported.config_json); }),
          "uploading the image config");
    return client.put_manifest(to, exported.manifest_json, exported.manifest.media_type);
  }();
  ::unlink(exported.layer_path.c_str());
  if (pushed) record_event({"image", "push", destination, {{"name", destination}}});
  return pushed;
}

Result<ImageInfo> Engine::import(const std::string& source, const std::string& name, const ImageConfig& config) {
  std::string tag = name.empty() ? "" : normalize_image_name(name);
  if (TRY(parse_image_reference(source)).kind == ImageReference::Kind::flist_file)
    return add_image_file(source, fs::absolute(source).string(), tag);
  TRY(TRY(trust_policy()).check_unsigned_source(source));
  Tree tree;
  if (!config.empty()) tree.config = config;
  auto holding = TRY(hold_blocks());
  std::string blocks = "dir://" + fs::absolute(opts_.root + "/blocks").string();
  auto router = TRY(open_router({blocks}, true));
  TRY_CTX(pack(source, *router, tree, {0, opts_.progress, nullptr}), "importing " + source);
  tree.routes = router->routes();
  auto info = add_image_tree(tree, fs::absolute(source).string(), tag);
  if (info) record_event({"image", "import", "sha256:" + info->id, {{"name", tag.empty() ? info->id : tag}}});
  return info;
}

Result<ImageInfo> fetch_image_in_process(Engine& engine, const ImageReference& ref) {
  if (ref.kind == ImageReference::Kind::hub || ref.kind == ImageReference::Kind::local) return engine.pull(ref.text);
  return engine.import(ref.path, "", {});
}

}  // namespace tiffin::engine
