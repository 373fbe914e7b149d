#include "snapshotter/snapshotter.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "common/remove_tree.hpp"
#include "snapshotter/snapshot_filter.hpp"

namespace fs = std::filesystem;

namespace tiffin::snapshotter {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
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
  if (!label_of(labels, kTargetRefLabel).empty() && lazy_ && TRY(try_lazy(key, parent, labels)))
    return fail(Errc::conflict, "target snapshot " + label_of(labels, kTargetRefLabel) + " already exists (served lazily)");
  return create(Kind::active, key, parent, labels);
}

Result<std::vector<Mount>> Snapshotter::view(const std::string& key, const std::string& parent, const Labels& labels) {
  return create(Kind::view, key, parent, labels);
}

Result<Snapshot> Snapshotter::committed_parent(const std::string& parent) {
  Snapshot p = TRY(require(parent));
  if (p.kind != Kind::committed) return fail(Errc::invalid_input, "parent " + parent + " is not a committed snapshot");
  return p;
}

Result<bool> Snapshotter::try_lazy(const std::string& key, const std::string& parent, const Labels& labels) {
  std::string target = label_of(labels, kTargetRefLabel);
  auto recorded = [&](const Snapshot& s) { return s.kind == Kind::committed && s.parent == parent && s.lazy; };
  std::optional<std::string> parent_chain = "";
  {
    std::lock_guard lock(mu_);
    if (auto existing = TRY(store_.get(target))) return recorded(*existing);
    if (!parent.empty()) {
      Snapshot p = TRY(committed_parent(parent));
      parent_chain = p.lazy && !p.chain.empty() ? std::optional(p.chain) : std::nullopt;
    }
    ++resolving_;  // under the lock: a cleanup either sees it or runs before the resolve begins
  }
  // Resolving may convert the image on the hub: never under the lock.
  auto layer = lazy_->resolve(labels, parent_chain);
  std::lock_guard lock(mu_);
  --resolving_;
  if (!layer) {
    spdlog::warn("{}: not served lazily, unpacking it instead: {}", key, layer.error().what());
    return false;
  }
  if (!*layer) return false;
  if (auto existing = TRY(store_.get(target))) return recorded(*existing);  // another pull recorded it meanwhile
  if (!parent.empty()) TRY(committed_parent(parent));
  std::string layers = label_of(labels, kImageLayersLabel);
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
  spdlog::info("{}: layer {} of {} served lazily{}", target, label_of(labels, kLayerDigestLabel), label_of(labels, kImageRefLabel),
      top ? " (its top: the whole image)" : "");
  return true;
}

Result<std::vector<Mount>> Snapshotter::create(Kind kind, const std::string& key, const std::string& parent, const Labels& labels) {
  if (key.empty()) return fail(Errc::invalid_input, "a snapshot needs a key");
  Snapshot s;
  Lowers lowers;
  {
    std::lock_guard lock(mu_);
    if (TRY(store_.get(key))) return fail(Errc::conflict, "snapshot " + key + " already exists");
    if (!parent.empty()) TRY(committed_parent(parent));
    s = TRY(store_.insert(
        Snapshot{.name = key, .parent = parent, .kind = kind, .created_ns = now_ns(), .updated_ns = now_ns(), .labels = labels}));
    auto made = [&]() -> Result<Lowers> {
      TRY(make_dirs(s));
      return lower_dirs(parent);
    }();
    if (made) lowers = std::move(*made);
    else return forget(s, made.error());
  }
  auto mounts = mounts_of(s, std::move(lowers));
  if (!mounts) {
    std::lock_guard lock(mu_);
    return forget(s, mounts.error());
  }
  return mounts;
}

std::unexpected<Error> Snapshotter::forget(const Snapshot& s, const Error& why) {
  // Leave nothing of a snapshot that cannot be used.
  (void)remove_tree(dir(s.id));
  (void)store_.remove(s.id);
  return std::unexpected(why);
}

Result<void> Snapshotter::make_dirs(const Snapshot& s) {
  TRY(make_dir(dir(s.id) + "/fs"));
  if (s.kind == Kind::active) TRY(make_dir(dir(s.id) + "/work"));
  return {};
}

Result<Snapshotter::Lowers> Snapshotter::lower_dirs(const std::string& parent) {
  Lowers out;
  for (std::string name = parent; !name.empty();) {
    Snapshot s = TRY(require(name));
    if (s.lazy) {
      if (s.remote.empty())
        return fail(Errc::unsupported, "snapshot " + name + " is a lower layer of " + label_of(s.labels, kImageRefLabel) +
                                           " served lazily on a layer that was unpacked: its own tree is not known, only its image's");
      if (!lazy_) return fail(Errc::unsupported, "snapshot " + name + " is served lazily, but no lazy image source is configured");
      out.lazy_key = s.remote;  // the flist holds every layer below; mounted outside the lock
      break;
    }
    out.dirs.push_back(dir(s.id) + "/fs");
    name = s.parent;
  }
  return out;
}

Result<std::vector<Mount>> Snapshotter::mounts_of(const Snapshot& s, Lowers lowers) {
  std::vector<std::string> dirs = std::move(lowers.dirs);
  // Mounting may fetch a layer chain and start a mount process: never under the lock.
  if (!lowers.lazy_key.empty()) dirs.push_back(TRY(lazy_->mount(lowers.lazy_key)));
  std::string fs_dir = dir(s.id) + "/fs";
  if (s.kind == Kind::view) {
    if (dirs.empty()) return std::vector<Mount>{{"bind", fs_dir, {"ro", "rbind"}}};
    if (dirs.size() == 1) return std::vector<Mount>{{"bind", dirs.front(), {"ro", "rbind"}}};
    return std::vector<Mount>{{"overlay", "overlay", {"lowerdir=" + join(dirs, ':')}}};
  }
  if (dirs.empty()) return std::vector<Mount>{{"bind", fs_dir, {"rw", "rbind"}}};
  // index=off: an upper directory must stay usable over a lower layer that is mounted anew
  // (the flist's FUSE mount after a restart), which overlayfs' index would refuse.
  return std::vector<Mount>{
      {"overlay", "overlay", {"index=off", "workdir=" + dir(s.id) + "/work", "upperdir=" + fs_dir, "lowerdir=" + join(dirs, ':')}}};
}

Result<std::vector<Mount>> Snapshotter::mounts(const std::string& key) {
  Snapshot s;
  Lowers lowers;
  {
    std::lock_guard lock(mu_);
    s = TRY(require(key));
    // containerd's: a committed snapshot is a layer, not something to mount.
    if (s.kind == Kind::committed)
      return fail(Errc::unsupported, "snapshot " + key + " is committed: only active snapshots and views mount");
    TRY(make_dirs(s));  // a crash may have come between the row and its directories
    lowers = TRY(lower_dirs(s.parent));
  }
  return mounts_of(s, std::move(lowers));
}

Result<void> Snapshotter::commit(const std::string& name, const std::string& key, const Labels& labels) {
  std::lock_guard lock(mu_);
  Snapshot s = TRY(require(key));
  if (s.kind != Kind::active) return fail(Errc::unsupported, "snapshot " + key + " is not active: only an active snapshot is committed");
  if (TRY(store_.get(name))) return fail(Errc::conflict, "snapshot " + name + " already exists");
  // containerd's: the committed snapshot is new — its own labels (the active one's are not
  // inherited) and its own creation time.
  s.name = name;
  s.kind = Kind::committed;
  s.created_ns = s.updated_ns = now_ns();
  s.labels = labels;
  TRY(store_.update(s));
  (void)remove_tree(dir(s.id) + "/work");  // a layer needs no overlay work directory
  return {};
}

Result<void> Snapshotter::remove(const std::string& key) {
  std::lock_guard lock(mu_);
  Snapshot s = TRY(require(key));
  if (TRY(store_.has_children(key))) return fail(Errc::unsupported, "snapshot " + key + " has children: remove them first");
  TRY(store_.remove(s.id));
  if (auto gone = remove_tree(dir(s.id)); !gone) spdlog::warn("{}: {} (cleanup will retry)", key, gone.error().what());
  // While a pull resolves, the tree it resolves may be this one, its flist written but not
  // yet recorded: then a later Cleanup releases it.
  if (s.lazy && !s.remote.empty() && lazy_ && resolving_ == 0 && TRY(store_.count_remote(s.remote)) == 0) lazy_->release(s.remote);
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
  if (lazy_ && resolving_ == 0) lazy_->release_all_but(images);  // else a pull's new flist may be among them
  std::error_code ec;
  for (fs::directory_iterator it(root_ + "/snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    if (owned.contains(it->path().filename().string())) continue;
    if (auto gone = remove_tree(it->path().string()); gone) spdlog::info("cleanup: removed {}", it->path().string());
    else spdlog::warn("cleanup: {}", gone.error().what());
  }
  return {};
}

}  // namespace tiffin::snapshotter
