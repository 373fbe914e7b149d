// The snapshotter's metadata: every snapshot containerd made through it, kept in SQLite
// (<root>/metadata.db) so that a restart of the snapshotter or of containerd finds them all.
// A snapshot's files live in <root>/snapshots/<id>, named by a row id that is never reused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/sqlite.hpp"

namespace tiffin::snapshotter {

using Labels = std::map<std::string, std::string>;

// containerd's snapshot kinds, with its numbers (the API's Kind enum).
enum class Kind { view = 1, active = 2, committed = 3 };

struct Snapshot {
  int64_t id = 0;
  std::string name;    // containerd's key (active, view) or name (committed)
  std::string parent;  // a committed snapshot's name, or empty
  Kind kind = Kind::active;
  int64_t created_ns = 0, updated_ns = 0;
  Labels labels;
  // The committed layers of an image served lazily (`lazy`): no directory of their own; their
  // tree is the flist LazyImages mounts for `remote` — the image's own for its top layer
  // (`remote_top`), the chain of the layers up to this one for the others. `chain` is that
  // chain's id, which the layer above builds on. Empty `remote`: the chain is not known (the
  // layer sits on a layer that was unpacked), so the layer can be a parent of nothing.
  bool lazy = false;
  std::string remote;
  bool remote_top = false;
  std::string chain;
};

class SnapshotStore {
 public:
  static Result<SnapshotStore> open(const std::string& path);

  Result<std::optional<Snapshot>> get(const std::string& name);
  // Assigns the id; Errc::conflict when the name is taken.
  Result<Snapshot> insert(Snapshot s);
  // Name, kind, labels and times of the row with s.id.
  Result<void> update(const Snapshot& s);
  Result<void> remove(int64_t id);
  Result<std::vector<Snapshot>> all();
  Result<bool> has_children(const std::string& name);
  // How many snapshots are served from the lazily mounted tree `remote`.
  Result<int64_t> count_remote(const std::string& remote);

 private:
  explicit SnapshotStore(sql::Db db) : db_(std::move(db)) {}
  Result<std::vector<Snapshot>> query(const std::string& where, const std::string& arg);
  sql::Db db_;
};

}  // namespace tiffin::snapshotter
