// Opening the engine, and its image store.
#include "engine/engine.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "common/fd.hpp"
#include "common/hash.hpp"
#include "common/subprocess.hpp"
#include "engine/flist_mounts.hpp"
#include "engine/image_reference.hpp"
#include "engine/state_db.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;

namespace {

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("tiffin") : p.string();
}

}  // namespace

Result<Engine> Engine::open(EngineOptions opts) {
  if (opts.tiffin_binary.empty()) opts.tiffin_binary = self_exe();
  if (opts.shim_binary.empty()) opts.shim_binary = (fs::path(opts.tiffin_binary).parent_path() / "tiffin-shim").string();
  if (opts.full_binary.empty()) opts.full_binary = (fs::path(opts.tiffin_binary).parent_path() / "tiffin-full").string();
  if (opts.runtime_binary.empty()) opts.runtime_binary = (fs::path(opts.tiffin_binary).parent_path() / "tiffin-oci").string();
  if (opts.corex_binary.empty()) opts.corex_binary = (fs::path(opts.tiffin_binary).parent_path() / "tiffin-corex").string();
  if (opts.dns_binary.empty()) opts.dns_binary = (fs::path(opts.tiffin_binary).parent_path() / "tiffin-dns").string();
  for (const auto& d : {opts.root + "/images", opts.root + "/containers", opts.root + "/volumes", opts.run_root + "/mounts",
           opts.run_root + "/c", opts.run_root + "/netns"}) {
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) return fail(Errc::io, "making " + d + ": " + ec.message());
  }
  ::chmod(opts.root.c_str(), 0700);
  ::chmod(opts.run_root.c_str(), 0700);
  sql::Db db = TRY(open_state_db(opts.root + "/tiffin.db"));
  return Engine(std::move(opts), std::move(db));
}

Result<std::optional<ImageInfo>> Engine::find_image(const std::string& ref) {
  std::string id;
  {
    auto byname = TRY(sql::Stmt::prepare(db_, "SELECT image FROM tags WHERE name = ? OR name = ?"));
    byname.bind(1, ref).bind(2, normalize_image_name(ref));
    if (TRY(byname.step())) id = byname.text(0);
  }
  // An id or a prefix of one, with docker's "sha256:" or without.
  std::string hex = ref.starts_with("sha256:") ? ref.substr(7) : ref;
  if (id.empty() && hex.size() >= 4 && hex.find_first_not_of("0123456789abcdef") == std::string::npos) {
    auto byid = TRY(sql::Stmt::prepare(db_, "SELECT id FROM images WHERE id LIKE ? || '%'"));
    byid.bind(1, hex);
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

std::string image_digest(const ImageInfo& image) {
  size_t at = image.source.rfind("@sha256:");
  return at == std::string::npos ? "" : image.source.substr(at + 1);
}

Result<void> Engine::tag_image(const std::string& image, const std::string& name) {
  auto found = TRY(find_image(image));
  if (!found) return fail(Errc::not_found, "no such image: " + image);
  std::string tag = normalize_image_name(name);
  if (tag.find_first_of(" \t\n") != std::string::npos || tag.starts_with(":") || tag.ends_with(":"))
    return fail(Errc::invalid_input, "'" + name + "' is not an image name");
  auto t = TRY(sql::Stmt::prepare(db_, "INSERT OR REPLACE INTO tags (name, image) VALUES (?, ?)"));
  TRY(t.bind(1, tag).bind(2, found->id).run());
  record_event({"image", "tag", "sha256:" + found->id, {{"name", tag}}});
  return {};
}

Result<ImageInfo> Engine::resolve_image(const std::string& text, const std::string& pull) {
  if (pull != "missing" && pull != "always" && pull != "never")
    return fail(Errc::invalid_input, "--pull " + pull + ": say missing, always or never");
  auto ref = TRY(parse_image_reference(text));
  bool remote = ref.kind == ImageReference::Kind::local || ref.kind == ImageReference::Kind::hub;
  if (remote && pull != "always")
    if (auto found = TRY(find_image(ref.name))) return *found;
  if (remote && pull == "never") return fail(Errc::not_found, "no such image: " + text);
  // Refused here, before it is packed (by tiffin-full, for the lean binary): what this node
  // packs carries no signature.
  if (ref.kind == ImageReference::Kind::source) TRY(TRY(trust_policy()).check_unsigned_source(text));
  return fetch_image(ref);
}

namespace {
ImageFetcher g_fetcher = nullptr;
}

void set_image_fetcher(ImageFetcher fetcher) { g_fetcher = fetcher; }

Result<ImageInfo> Engine::fetch_image(const ImageReference& ref) {
  if (g_fetcher) return g_fetcher(*this, ref);
  if (ref.kind == ImageReference::Kind::hub || ref.kind == ImageReference::Kind::local) return run_full_fetch({"pull", ref.text}, ref.text);
  return run_full_fetch({"import", ref.path}, ref.text);
}

Result<ImageInfo> Engine::fetch_through_hub(const std::string& hub, const std::string& image, const PullOptions& opts) {
  std::vector<std::string> args = {"pull", "--hub", hub};
  if (!opts.platform.empty()) args.insert(args.end(), {"--platform", opts.platform});
  if (!opts.tls_verify) args.insert(args.end(), {"--tls-verify", "false"});
  args.push_back(image);
  return run_full_fetch(args, image + " through " + hub);
}

Result<ImageInfo> Engine::run_full_fetch(const std::vector<std::string>& args, const std::string& what) {
  // `tiffin-full pull|import` prints the image's name or id on its last line.
  std::vector<std::string> argv = {opts_.full_binary, "--root", opts_.root, "--run-root", opts_.run_root};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [code, text] = TRY(run_captured(argv));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::string last = text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  if (code != 0) {
    // Its message is on our stderr already; what kind of failure it was is in its exit code.
    return fail(code == 2 ? Errc::not_found : Errc::io, "could not fetch image " + what);
  }
  auto found = TRY(find_image(last));
  if (!found) return fail(Errc::internal, "tiffin-full fetched " + what + " but the store has no " + last);
  return *found;
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
    record_event({"image", "untag", "sha256:" + found->id, {{"name", t}}});
  }
  if (remaining_tags == 0) {
    release_flist_mount(opts_.run_root + "/mounts/" + found->id);
    auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM images WHERE id = ?"));
    TRY(del.bind(1, found->id).run());
    ::unlink(found->flist.c_str());
    ::unlink(signatures_path(found->id).c_str());
    out.push_back("Deleted: " + found->id);
    record_event({"image", "delete", "sha256:" + found->id, {{"name", found->tags.empty() ? found->id : found->tags.front()}}});
  }
  return out;
}

}  // namespace tiffin::engine
