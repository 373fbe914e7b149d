#include "snapshotter/snapshotter.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "snapshotter/snapshot_filter.hpp"

namespace fs = std::filesystem;

namespace tiffin::snapshotter {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string label(const Labels& labels, const char* key) {
  auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

Result<void> make_dir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(Errc::io, "creating " + path + ": " + ec.message());
  return {};
}

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(1, sep)) + p;
  return out;
}

}  // namespace

Result<std::unique_ptr<Snapshotter>> Snapshotter::open(const std::string& root, std::unique_ptr<LazyImages> lazy) {
  TRY(make_dir(root + "/snapshots"));
  ::chmod(root.c_str(), 0700);  // containers' files: root's only
  SnapshotStore store = TRY(SnapshotStore::open(root + "/metadata.db"));
  return std::unique_ptr<Snapshotter>(new Snapshotter(root, std::move(store), std::move(lazy)));
}

std::string Snapshotter::dir(int64_t id) const { return root_ + "/snapshots/" + std::to_string(id); }

Result<Snapshot> Snapshotter::require(const std::string& key) {
  auto s = TRY(store_.get(key));
  if (!s) return fail(Errc::not_found, "snapshot " + key + " does not exist");
  return *s;
}

Result<std::vector<Mount>> Snapshotter::prepare(const std::string& key, const std::string& parent, const Labels& labels) {
  if (!label(labels, kTargetRefLabel).empty() && lazy_ && TRY(try_lazy(key, parent, labels)))
    return fail(Errc::conflict, "target snapshot " + label(labels, kTargetRefLabel) + " already exists (served lazily)");
  std::lock_guard lock(mu_);
  return create(Kind::active, key, parent, labels);
}

Result<std::vector<Mount>> Snapshotter::view(const std::string& key, const std::string& parent, const Labels& labels) {
  std::lock_guard lock(mu_);
  return create(Kind::view, key, parent, labels);
}

Result<bool> Snapshotter::try_lazy(const std::string& key, const std::string& parent, const Labels& labels) {
  std::string target = label(labels, kTargetRefLabel);
  std::optional<std::string> parent_chain = "";
  {
    std::lock_guard lock(mu_);
    if (auto existing = TRY(store_.get(target))) return existing->kind == Kind::committed && existing->parent == parent && existing->lazy;
    if (!parent.empty()) {
      Snapshot p = TRY(require(parent));
      if (p.kind != Kind::committed) return fail(Errc::unsupported, "parent " + parent + " is not a committed snapshot");
      parent_chain = p.lazy && !p.chain.empty() ? std::optional(p.chain) : std::nullopt;
    }
  }
  // Resolving may convert the image on the hub: never under the lock.
  auto layer = lazy_->resolve(labels, parent_chain);
  if (!layer) {
    spdlog::warn("{}: not served lazily, unpacking it instead: {}", key, layer.error().what());
    return false;
  }
  if (!*layer) return false;
  std::lock_guard lock(mu_);
  if (TRY(store_.get(target))) return true;  // another pull of the same image recorded it meanwhile
  std::string layers = label(labels, kImageLayersLabel);
  bool top = !layers.empty() && layers.find(',') == std::string::npos;
  Snapshot s{.name = target,
      .parent = parent,
      .kind = Kind::committed,
      .created_ns = now_ns(),
      .updated_ns = now_ns(),
      .labels = labels,
      .lazy = true,
      .remote = top ? (*layer)->image : (*layer)->chain_key,
      .remote_top = top,
      .chain = (*layer)->chain};
  TRY(store_.insert(std::move(s)));
  spdlog::info("{}: layer {} of {} served lazily{}", target, label(labels, kLayerDigestLabel), label(labels, kImageRefLabel),
      top ? " (its top: the whole image)" : "");
  return true;
}

Result<std::vector<Mount>> Snapshotter::create(Kind kind, const std::string& key, const std::string& parent, const Labels& labels) {
  if (key.empty()) return fail(Errc::invalid_input, "a snapshot needs a key");
  if (TRY(store_.get(key))) return fail(Errc::conflict, "snapshot " + key + " already exists");
  if (!parent.empty()) {
    Snapshot p = TRY(require(parent));
    if (p.kind != Kind::committed) return fail(Errc::unsupported, "parent " + parent + " is not a committed snapshot");
  }
  Snapshot s{.name = key, .parent = parent, .kind = kind, .created_ns = now_ns(), .updated_ns = now_ns(), .labels = labels};
  s = TRY(store_.insert(std::move(s)));
  auto made_and_mounted = [&]() -> Result<std::vector<Mount>> {
    TRY(make_dir(dir(s.id) + "/fs"));
    if (kind == Kind::active) TRY(make_dir(dir(s.id) + "/work"));
    return mounts_of(s);
  };
  auto mounts = made_and_mounted();
  if (!mounts) {  // leave nothing of a snapshot that cannot be used
    std::error_code ec;
    fs::remove_all(dir(s.id), ec);
    (void)store_.remove(s.id);
    return std::unexpected(mounts.error());
  }
  return mounts;
}

Result<std::vector<std::string>> Snapshotter::lower_dirs(const std::string& parent) {
  std::vector<std::string> dirs;
  for (std::string name = parent; !name.empty();) {
    Snapshot s = TRY(require(name));
    if (s.lazy) {
      if (s.remote.empty())
        return fail(Errc::unsupported, "snapshot " + name + " is a lower layer of " + label(s.labels, kImageRefLabel) +
                                           " served lazily on a layer that was unpacked: its own tree is not known, only its image's");
      if (!lazy_) return fail(Errc::unsupported, "snapshot " + name + " is served lazily, but no lazy image source is configured");
      dirs.push_back(TRY(lazy_->mount(s.remote)));
      break;  // the flist holds every layer below
    }
    dirs.push_back(dir(s.id) + "/fs");
    name = s.parent;
  }
  return dirs;
}

Result<std::vector<Mount>> Snapshotter::mounts_of(const Snapshot& s) {
  if (s.kind == Kind::committed) {
    if (s.lazy) {
      auto lowers = TRY(lower_dirs(s.name));
      return std::vector<Mount>{{"bind", lowers.front(), {"ro", "rbind"}}};
    }
    return std::vector<Mount>{{"bind", dir(s.id) + "/fs", {"ro", "rbind"}}};
  }
  auto lowers = TRY(lower_dirs(s.parent));
  std::string fs_dir = dir(s.id) + "/fs";
  if (s.kind == Kind::view) {
    if (lowers.empty()) return std::vector<Mount>{{"bind", fs_dir, {"ro", "rbind"}}};
    if (lowers.size() == 1) return std::vector<Mount>{{"bind", lowers.front(), {"ro", "rbind"}}};
    return std::vector<Mount>{{"overlay", "overlay", {"lowerdir=" + join(lowers, ':')}}};
  }
  if (lowers.empty()) return std::vector<Mount>{{"bind", fs_dir, {"rw", "rbind"}}};
  // index=off: an upper directory must stay usable over a lower layer that is mounted anew
  // (the flist's FUSE mount after a restart), which overlayfs' index would refuse.
  return std::vector<Mount>{
      {"overlay", "overlay", {"index=off", "workdir=" + dir(s.id) + "/work", "upperdir=" + fs_dir, "lowerdir=" + join(lowers, ':')}}};
}

Result<std::vector<Mount>> Snapshotter::mounts(const std::string& key) {
  std::lock_guard lock(mu_);
  Snapshot s = TRY(require(key));
  if (s.kind == Kind::active) TRY(make_dir(dir(s.id) + "/work"));  // a crash may have come between the row and the directories
  return mounts_of(s);
}

Result<void> Snapshotter::commit(const std::string& name, const std::string& key, const Labels& labels) {
  std::lock_guard lock(mu_);
  Snapshot s = TRY(require(key));
  if (s.kind != Kind::active) return fail(Errc::unsupported, "snapshot " + key + " is not active: only an active snapshot is committed");
  if (TRY(store_.get(name))) return fail(Errc::conflict, "snapshot " + name + " already exists");
  s.name = name;
  s.kind = Kind::committed;
  s.updated_ns = now_ns();
  for (const auto& [k, v] : labels) s.labels[k] = v;
  TRY(store_.update(s));
  std::error_code ec;
  fs::remove_all(dir(s.id) + "/work", ec);  // a layer needs no overlay work directory
  return {};
}

Result<void> Snapshotter::remove(const std::string& key) {
  std::lock_guard lock(mu_);
  Snapshot s = TRY(require(key));
  if (TRY(store_.has_children(key))) return fail(Errc::unsupported, "snapshot " + key + " has children: remove them first");
  TRY(store_.remove(s.id));
  std::error_code ec;
  fs::remove_all(dir(s.id), ec);
  if (ec) spdlog::warn("{}: removing {}: {} (cleanup will retry)", key, dir(s.id), ec.message());
  if (s.lazy && !s.remote.empty() && lazy_ && TRY(store_.count_remote(s.remote)) == 0) lazy_->release(s.remote);
  return {};
}

Result<Snapshot> Snapshotter::stat(const std::string& key) {
  std::lock_guard lock(mu_);
  return require(key);
}

Result<Snapshot> Snapshotter::update(const Snapshot& info, const std::vector<std::string>& paths) {
  std::lock_guard lock(mu_);
  Snapshot s = TRY(require(info.name));
  if (paths.empty()) {
    s.labels = info.labels;
  } else {
    for (const auto& p : paths) {
      if (p == "labels") {
        s.labels = info.labels;
      } else if (p.starts_with("labels.")) {
        std::string k = p.substr(7);
        if (auto it = info.labels.find(k); it != info.labels.end()) s.labels[k] = it->second;
        else s.labels.erase(k);
      } else {
        return fail(Errc::invalid_input, "cannot update field " + p + " of snapshot " + info.name + ": only labels change");
      }
    }
  }
  s.updated_ns = now_ns();
  TRY(store_.update(s));
  return s;
}

Result<std::vector<Snapshot>> Snapshotter::list(const std::vector<std::string>& filters) {
  auto parsed = TRY(parse_snapshot_filters(filters));
  std::lock_guard lock(mu_);
  std::vector<Snapshot> out;
  for (auto& s : TRY(store_.all()))
    if (matches_any(parsed, s)) out.push_back(std::move(s));
  return out;
}

Result<Usage> Snapshotter::usage(const std::string& key) {
  std::string path;
  {
    std::lock_guard lock(mu_);
    Snapshot s = TRY(require(key));
    if (s.lazy) return Usage{};  // nothing on this node's disk but cached blocks, shared by all
    path = dir(s.id) + "/fs";
  }
  // containerd's fs.DiskUsage: allocated bytes and inodes, each inode counted once.
  Usage u;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  auto count = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !seen.insert({st.st_dev, st.st_ino}).second) return;
    u.size += static_cast<int64_t>(st.st_blocks) * 512;
    ++u.inodes;
  };
  count(path);
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec))
    count(it->path());
  return u;
}

Result<void> Snapshotter::cleanup() {
  std::lock_guard lock(mu_);
  std::set<std::string> owned, images;
  for (const auto& s : TRY(store_.all())) {
    owned.insert(std::to_string(s.id));
    if (s.lazy && !s.remote.empty()) images.insert(s.remote);
  }
  if (lazy_) lazy_->release_all_but(images);
  std::error_code ec;
  for (fs::directory_iterator it(root_ + "/snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    if (owned.contains(it->path().filename().string())) continue;
    std::error_code rm;
    fs::remove_all(it->path(), rm);
    spdlog::info("cleanup: removed {}", it->path().string());
  }
  return {};
}

}  // namespace tiffin::snapshotter
