// containerd's snapshotter semantics (containerd/snapshots.Snapshotter) over directories and
// overlayfs, with images served lazily from flists: the logic behind tiffin-snapshotter's gRPC
// service (snapshots_service.hpp), callable and testable without gRPC.
//
// Ordinary snapshots are containerd's overlay snapshotter's: an active snapshot is an upper
// directory <root>/snapshots/<id>/fs (+ work) over its parents' fs directories; committing it
// freezes it as a layer. Lazily served images: during a pull, containerd prepares each layer
// with the label containerd.io/snapshot.ref (its chain id). When LazyImages resolves the image
// the layer belongs to, the snapshotter records a committed snapshot under that chain id
// itself and answers "already exists", so containerd neither downloads nor unpacks the layer
// (the remote snapshotter protocol). The image's top layer stands for the whole image: its
// content is the image's flist mounted lazily, and containers prepared on it get overlayfs with
// that mount as the lower layer. A layer below the top holds the hub's chain of the layers up to
// it, fetched and mounted only when something is prepared on it (the top of another image that
// is a prefix of this one).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "snapshotter/lazy_images.hpp"
#include "snapshotter/snapshot_store.hpp"

namespace tiffin::snapshotter {

struct Mount {
  std::string type, source;
  std::vector<std::string> options;
  bool operator==(const Mount&) const = default;
};

struct Usage {
  int64_t size = 0, inodes = 0;
};

class Snapshotter {
 public:
  // `lazy` may be null: no image is served lazily.
  static Result<std::unique_ptr<Snapshotter>> open(const std::string& root, std::unique_ptr<LazyImages> lazy);

  // Errc::conflict for an existing key, and for a layer now served lazily (containerd's
  // ErrAlreadyExists in both cases, as the protocol wants).
  Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent, const Labels& labels);
  Result<std::vector<Mount>> view(const std::string& key, const std::string& parent, const Labels& labels);
  Result<std::vector<Mount>> mounts(const std::string& key);
  // The committed snapshot gets `labels` (not the active one's) and a new creation time.
  Result<void> commit(const std::string& name, const std::string& key, const Labels& labels);
  // Errc::unsupported (a failed precondition) while it has children.
  Result<void> remove(const std::string& key);
  // Active snapshots and views; Errc::unsupported for a committed one (containerd's rule).
  Result<Snapshot> stat(const std::string& key);
  // Only labels change: `paths` as an update mask ("labels", "labels.<key>"), empty: all.
  Result<Snapshot> update(const Snapshot& info, const std::vector<std::string>& paths);
  Result<std::vector<Snapshot>> list(const std::vector<std::string>& filters);
  Result<Usage> usage(const std::string& key);
  // Removes directories no snapshot owns (left by a crash between the two steps of a remove).
  Result<void> cleanup();

  const std::string& root() const { return root_; }

 private:
  Snapshotter(std::string root, SnapshotStore store, std::unique_ptr<LazyImages> lazy)
      : root_(std::move(root)), store_(std::move(store)), lazy_(std::move(lazy)) {}

  // The lower directories of a snapshot on `parent`; a lazily served layer ends them with the
  // key of its tree, which mounts_of mounts (outside the lock).
  struct Lowers {
    std::vector<std::string> dirs;
    std::string lazy_key;
  };

  Result<std::vector<Mount>> create(Kind kind, const std::string& key, const std::string& parent, const Labels& labels);
  // For a Prepare carrying a chain id: records the layer as served lazily and returns true,
  // or false to unpack it as usual.
  Result<bool> try_lazy(const std::string& key, const std::string& parent, const Labels& labels);
  Result<Snapshot> committed_parent(const std::string& parent);
  Result<void> make_dirs(const Snapshot& s);
  Result<Lowers> lower_dirs(const std::string& parent);
  Result<std::vector<Mount>> mounts_of(const Snapshot& s, Lowers lowers);
  std::unexpected<Error> forget(const Snapshot& s, const Error& why);
  Result<Snapshot> require(const std::string& key);
  std::string dir(int64_t id) const;

  std::string root_;
  std::mutex mu_;  // the store, the snapshot directories and resolving_
  SnapshotStore store_;
  int resolving_ = 0;  // lazy resolves in flight (their flists may not be recorded yet)
  std::unique_ptr<LazyImages> lazy_;
};

}  // namespace tiffin::snapshotter
