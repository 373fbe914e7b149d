#include "hub/hub_repository.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/hash.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "hub/gc_lock.hpp"

namespace tiffin::hub {
namespace fs = std::filesystem;

namespace {

Result<void> make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("mkdir " + path);
  return {};
}

// md5 and sha256 of a file in one pass.
Result<std::pair<std::string, std::string>> digests(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + path);
  auto free_ctx = [](EVP_MD_CTX* c) { EVP_MD_CTX_free(c); };
  std::unique_ptr<EVP_MD_CTX, decltype(free_ctx)> md5(EVP_MD_CTX_new(), free_ctx), sha(EVP_MD_CTX_new(), free_ctx);
  EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  Bytes buf(1 << 16);
  for (;;) {
    size_t n = TRY(read_full(fd.get(), buf));
    if (n == 0) break;
    EVP_DigestUpdate(md5.get(), buf.data(), n);
    EVP_DigestUpdate(sha.get(), buf.data(), n);
    if (n < buf.size()) break;
  }
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(md5.get(), out, &len);
  std::string m = to_hex({out, len});
  EVP_DigestFinal_ex(sha.get(), out, &len);
  return std::pair{m, to_hex({out, len})};
}

// "../<user>/<name>:<tag>.fl" → the ref; anything else is not a link the hub made.
Result<FlistRef> parse_link_target(const std::string& target) {
  if (!target.starts_with("../")) return fail(Errc::corrupt, "foreign link target " + target);
  return parse_flist_ref(target.substr(3));
}

struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

Result<HubRepository> HubRepository::open(const std::string& root, HubLimits limits) {
  TRY(make_dir(root));
  TRY(make_dir(root + "/flists"));
  TRY(make_dir(root + "/tmp"));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root + "/tmp", ec)) fs::remove_all(e.path(), ec);
  // Layer downloads of conversions a crash cut short: nobody else uses the spool.
  for (const auto& e : fs::directory_iterator(root + "/layers/spool", ec)) fs::remove_all(e.path(), ec);
  auto blocks = TRY(DirStore::open(root + "/blocks", true));
  return HubRepository(root, std::move(blocks), limits);
}

Result<HubRepository> HubRepository::attach(const std::string& root, HubLimits limits) {
  TRY(make_dir(root));
  TRY(make_dir(root + "/flists"));
  TRY(make_dir(root + "/tmp"));
  auto blocks = TRY(DirStore::open(root + "/blocks", true));
  return HubRepository(root, std::move(blocks), limits);
}

std::string HubRepository::temp_path() {
  static std::atomic<uint64_t> counter{0};
  return root_ + "/tmp/upload-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

std::string HubRepository::flist_path(const FlistRef& ref) const { return root_ + "/flists/" + ref.user + "/" + ref.file_name(); }

Result<void> HubRepository::put_block(const Hash& id, std::span<const uint8_t> sealed) {
  if (sealed.size() > limits_.max_block)
    return fail(Errc::invalid_input,
        "block of " + std::to_string(sealed.size()) + " bytes is over the limit of " + std::to_string(limits_.max_block));
  if (blake2b256(sealed) != id) return fail(Errc::invalid_input, "block id " + to_hex(id) + " is not the hash of its content");
  // Re-uploading a block the hub has is a sign it is wanted again: made young, like `missing`
  // does, so the collector's grace period covers it until the flist naming it arrives.
  if (TRY(touch_block(id))) return {};
  return blocks_->put(id, sealed);
}

Result<bool> HubRepository::touch_block(const Hash& id) {
  std::string path = blocks_->block_path(id);
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  // A store the hub may not touch (read-only, not its files): presence is all that is known.
  if (errno == EACCES || errno == EPERM || errno == EROFS) return blocks_->has(id);
  return fail_errno("utimensat " + path);
}

Result<std::vector<Hash>> HubRepository::missing(const std::vector<Hash>& ids) {
  // Every block reported present is made young (mtime = now): a pusher takes "present" as a
  // promise that it need not upload the block, so the collector (hub_gc.hpp) must not free it
  // before the flist naming it arrives — its grace period counts from this touch. One syscall
  // per id, as the access() it replaces.
  std::vector<Hash> out;
  for (const Hash& id : ids)
    if (!TRY(touch_block(id))) out.push_back(id);
  return out;
}

Result<FlistInfo> HubRepository::install(const FlistRef& ref, const std::string& file) {
  TRY(make_dir(root_ + "/flists/" + ref.user));
  std::string dest = flist_path(ref);
  if (::rename(file.c_str(), dest.c_str()) != 0) return fail_errno("rename " + file + " to " + dest);
  UniqueFd dir(::open((root_ + "/flists/" + ref.user).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) ::fsync(dir.get());
  return stat_entry(ref);
}

Result<FlistInfo> HubRepository::put_flist(const FlistRef& ref, const std::string& upload) {
  RemoveOnExit cleanup{upload};
  struct stat st;
  if (::stat(upload.c_str(), &st) != 0) return fail_errno("stat " + upload);
  if (static_cast<uint64_t>(st.st_size) > limits_.max_flist) return fail(Errc::invalid_input, "flist is over the size limit");
  Tree tree = TRY_CTX(load_flist(upload), "uploaded flist " + ref.str());
  std::vector<Hash> ids = tree.block_ids();
  // From the check to the rename, the collector cannot delete blocks (gc_lock.hpp): an flist is
  // never published naming a block that is gone.
  GcLock gc = TRY(GcLock::shared(root_));
  std::vector<Hash> absent = TRY(missing(ids));
  if (!absent.empty())
    return fail(Errc::conflict, "flist " + ref.str() + " names " + std::to_string(absent.size()) + " of its " + std::to_string(ids.size()) +
                                    " blocks that the hub does not have (first: " + to_hex(absent[0]) + "); upload them first");
  UniqueFd fd(::open(upload.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return fail_errno("fsync " + upload);
  auto info = TRY(install(ref, upload));
  cleanup.path.clear();
  return info;
}

Result<FlistInfo> HubRepository::put_tar(const FlistRef& ref, const std::string& upload, const std::string& blocks_url) {
  RemoveOnExit cleanup{upload};
  UniqueFd fd(::open(upload.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + upload);
  Tree tree;
  TRY_CTX(pack_tar(fd.get(), ref.str(), *blocks_, tree, {.progress = false}), "packing the uploaded archive");
  return put_tree(ref, std::move(tree), blocks_url);
}

Result<FlistInfo> HubRepository::put_tree(const FlistRef& ref, Tree tree, const std::string& blocks_url) {
  TRY(blocks_->flush());
  tree.routes = {Route{0, 0xff, blocks_url}};
  RemoveOnExit flist{temp_path()};
  TRY(save_flist(flist.path, tree));
  // As put_flist: checked under the collector's lock. Packing skips blocks the hub had, without
  // touching them, so one the collector judged garbage meanwhile could be gone; the check
  // touches them all and fails the install (the caller retries) rather than publish a hole.
  GcLock gc = TRY(GcLock::shared(root_));
  std::vector<Hash> ids = tree.block_ids();
  std::vector<Hash> absent = TRY(missing(ids));
  if (!absent.empty())
    return fail(Errc::conflict, std::to_string(absent.size()) + " blocks of " + ref.str() +
                                    " were collected while it was made (first: " + to_hex(absent[0]) + "); try again");
  auto info = TRY(install(ref, flist.path));
  flist.path.clear();
  return info;
}

std::string HubRepository::source_path(const FlistRef& ref) const {
  return root_ + "/sources/" + ref.user + "/" + ref.name + ":" + ref.tag + ".json";
}

Result<void> HubRepository::put_source(const FlistRef& ref, const FlistSource& source) {
  TRY(make_dir(root_ + "/sources"));
  TRY(make_dir(root_ + "/sources/" + ref.user));
  nlohmann::json j{
      {"image", source.image}, {"platform", source.platform}, {"digest", source.digest}, {"flist_sha256", source.flist_sha256}};
  std::string text = j.dump();
  return write_file_atomic(source_path(ref), {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0644, true);
}

Result<std::optional<FlistSource>> HubRepository::source(const FlistRef& ref) const {
  std::string path = source_path(ref);
  if (::access(path.c_str(), F_OK) != 0) return std::nullopt;
  Bytes data = TRY(read_file(path));
  auto j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  // A record that does not parse is as good as none: the next conversion rewrites it.
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  return FlistSource{str("image"), str("platform"), str("digest"), str("flist_sha256")};
}

Result<FlistInfo> HubRepository::link(const FlistRef& ref, const FlistRef& target) {
  TRY(resolve(target));  // no links to nothing
  if (target.user == ref.user && target.name == ref.name && target.tag == ref.tag)
    return fail(Errc::invalid_input, "a link cannot point at itself");
  TRY(make_dir(root_ + "/flists/" + ref.user));
  std::string tmp = temp_path();
  std::string text = "../" + target.user + "/" + target.file_name();
  if (::symlink(text.c_str(), tmp.c_str()) != 0) return fail_errno("symlink " + tmp);
  RemoveOnExit cleanup{tmp};
  auto info = TRY(install(ref, tmp));
  cleanup.path.clear();
  if (!resolve(ref)) {  // a cycle through other links
    ::unlink(flist_path(ref).c_str());
    return fail(Errc::invalid_input, "link " + ref.str() + " → " + target.str() + " would make a cycle");
  }
  return info;
}

Result<void> HubRepository::remove(const FlistRef& ref) {
  ::unlink(source_path(ref).c_str());
  std::string path = flist_path(ref);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return fail(Errc::not_found, "no flist " + ref.str());
    return fail_errno("unlink " + path);
  }
  return {};
}

Result<std::string> HubRepository::resolve(const FlistRef& start) const {
  FlistRef ref = start;
  for (int depth = 0; depth < 8; ++depth) {
    std::string path = flist_path(ref);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return fail(Errc::not_found, "no flist " + ref.str());
      return fail_errno("lstat " + path);
    }
    if (S_ISREG(st.st_mode)) return path;
    if (!S_ISLNK(st.st_mode)) return fail(Errc::corrupt, path + " is neither an flist nor a link");
    char buf[512];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n < 0) return fail_errno("readlink " + path);
    ref = TRY_CTX(parse_link_target(std::string(buf, n)), path);
  }
  return fail(Errc::invalid_input, "too many links from " + start.str());
}

Result<FlistInfo> HubRepository::stat_entry(const FlistRef& ref) const {
  std::string path = flist_path(ref);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return fail(Errc::not_found, "no flist " + ref.str());
    return fail_errno("lstat " + path);
  }
  FlistInfo info{ref};
  info.updated = st.st_mtime;
  if (S_ISLNK(st.st_mode)) {
    info.type = "symlink";
    char buf[512];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n < 0) return fail_errno("readlink " + path);
    info.target = TRY_CTX(parse_link_target(std::string(buf, n)), path).str();
    struct stat target;
    if (auto real = resolve(ref); real && ::stat(real->c_str(), &target) == 0) info.size = target.st_size;
  } else {
    info.size = st.st_size;
  }
  return info;
}

Result<FlistInfo> HubRepository::info(const FlistRef& ref) const {
  FlistInfo info = TRY(stat_entry(ref));
  std::string path = TRY(resolve(ref));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return fail_errno("stat " + path);
  auto key = std::make_tuple(
      uint64_t(st.st_dev), uint64_t(st.st_ino), int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, uint64_t(st.st_size));
  {
    std::lock_guard lock(digests_->mu);
    if (auto it = digests_->entries.find(key); it != digests_->entries.end()) {
      std::tie(info.md5, info.sha256) = it->second;
      return info;
    }
  }
  auto sums = TRY(digests(path));
  std::lock_guard lock(digests_->mu);
  if (digests_->entries.size() >= 10000) digests_->entries.clear();  // replaced files leave stale keys
  digests_->entries.emplace(key, sums);
  std::tie(info.md5, info.sha256) = sums;
  return info;
}

Result<std::vector<std::string>> HubRepository::users() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_ + "/flists", ec))
    if (e.is_directory() && valid_name(e.path().filename())) out.push_back(e.path().filename());
  if (ec) return fail(Errc::io, "listing users: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<FlistInfo>> HubRepository::list(const std::string& user) const {
  if (!valid_name(user)) return fail(Errc::invalid_input, "invalid user name '" + user + "'");
  std::vector<FlistInfo> out;
  std::error_code ec;
  fs::directory_iterator it(root_ + "/flists/" + user, ec);
  if (ec) return fail(Errc::not_found, "no user " + user);
  for (const auto& e : it) {
    auto ref = parse_flist_name(user, e.path().filename());
    if (!ref || !e.path().filename().string().ends_with(".fl")) continue;
    if (auto info = stat_entry(*ref)) out.push_back(std::move(*info));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ref.str() < b.ref.str(); });
  return out;
}

}  // namespace tiffin::hub
