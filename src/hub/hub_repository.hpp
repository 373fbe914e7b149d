// What a hub holds on disk, and every rule about changing it. The HTTP layer only translates.
//
//   <root>/blocks/<hex[0:2]>/<hex>        sealed blocks, the rfs layout (a DirStore)
//   <root>/flists/<user>/<name>:<tag>.fl  flists; a link is a symlink to ../<user>/<name>:<tag>.fl
//   <root>/sources/<user>/<name>:<tag>.json  where a converted flist came from (hub_convert.hpp)
//   <root>/layers/                        converted layer chains, shared by conversions
//   <root>/profiles/<sha256>/             prefetch profiles nodes reported for the flist file of
//                                         that sha256 (<seq>.ids: 32-byte ids) and their merge
//                                         (merged.profile, v1 text); hub_profiles.cpp
//   <root>/tmp/                           uploads in progress (emptied at start)
//   <root>/replica/                       a replica's bookkeeping (hub_sync.hpp): tmp/ downloads,
//                                         flists/<user>/<name>:<tag>.json the source's sha256
//   <root>/gc.lock                        flock'd: installs (shared) against the collector's sweep
//
// A block is accepted only when its id is BLAKE2b-256 of its bytes; an flist only when it loads
// cleanly and every block it names is in the store. Files appear by rename, so a reader sees
// the old version or the new one, never a partial upload.
//
// Blocks are freed only by `tiffin hub gc` (hub_gc.hpp), a separate pass safe to run while the
// hub serves: it frees the blocks no flist (nor layer chain) names that are older than its
// grace period. Hence the two duties here: `missing` and re-uploads touch the blocks they find
// (a push's blocks stay young until its flist arrives), and an flist is installed only under
// the shared gc.lock after checking every block it names is here (gc_lock.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <span>
#include <string>
#include <vector>

#include "flist/tree.hpp"
#include "hub/flist_ref.hpp"
#include "store/dir_store.hpp"

namespace tiffin::hub {

struct FlistInfo {
  FlistRef ref;
  std::string type = "regular";  // or "symlink"
  std::string target;            // a link's "user/name:tag"
  uint64_t size = 0;
  int64_t updated = 0;      // mtime, unix seconds
  std::string md5, sha256;  // of the (resolved) file; filled by info() only
};

// What an flist converted on the hub was made from. `flist_sha256` ties the record to the file
// it describes: an flist uploaded later under the same name makes the record stale, not wrong.
struct FlistSource {
  std::string image;     // the reference as given
  std::string platform;  // "linux/amd64"
  std::string digest;    // the image's manifest digest
  std::string flist_sha256;
};

struct HubLimits {
  size_t max_block = 8u << 20;
  size_t max_flist = 256u << 20;
};

class HubRepository {
 public:
  static Result<HubRepository> open(const std::string& root, HubLimits limits = {});
  // For a second process on the root of a hub that may be serving (hub_sync.hpp): like open, but
  // leaves <root>/tmp and the layer spool alone, since they hold the server's work in progress.
  static Result<HubRepository> attach(const std::string& root, HubLimits limits = {});

  Result<void> put_block(const Hash& id, std::span<const uint8_t> sealed);
  std::string block_path(const Hash& id) const { return blocks_->block_path(id); }
  // The ids of `ids` the hub does not have, in the order given. The ones it has are touched
  // (mtime = now): the garbage collector's grace period keeps them for the push asking.
  Result<std::vector<Hash>> missing(const std::vector<Hash>& ids);
  // Touches the block `id` if the hub has it; whether it has.
  Result<bool> touch_block(const Hash& id);

  // Stores the flist written at `upload` (a file under tmp_dir(), consumed).
  Result<FlistInfo> put_flist(const FlistRef& ref, const std::string& upload);
  // Packs the tar archive at `upload` (consumed) into blocks here and an flist whose route is
  // `blocks_url` (this hub's public address).
  Result<FlistInfo> put_tar(const FlistRef& ref, const std::string& upload, const std::string& blocks_url);
  // Saves `tree` (its blocks already here) as the flist `ref`, routed to `blocks_url`.
  Result<FlistInfo> put_tree(const FlistRef& ref, Tree tree, const std::string& blocks_url);
  // The record of where `ref` came from, if it was converted here (nullopt otherwise).
  Result<void> put_source(const FlistRef& ref, const FlistSource& source);
  Result<std::optional<FlistSource>> source(const FlistRef& ref) const;
  Result<FlistInfo> link(const FlistRef& ref, const FlistRef& target);
  Result<void> remove(const FlistRef& ref);

  // The regular file behind `ref`, links followed.
  Result<std::string> resolve(const FlistRef& ref) const;
  Result<FlistInfo> info(const FlistRef& ref) const;
  Result<std::vector<std::string>> users() const;
  Result<std::vector<FlistInfo>> list(const std::string& user) const;

  // Prefetch profiles learnt from nodes (hub_profiles.cpp). Reports are kept per flist *file*
  // (its sha256; links share their target's), so a re-pushed tag starts afresh.
  struct ProfileReportResult {
    size_t accepted = 0;  // distinct ids of the report that are blocks of the flist
    size_t dropped = 0;   // the rest (repeats, ids of no block of it)
    size_t reports = 0;   // reports now kept for the flist
    size_t merged = 0;    // ids of the merged profile
  };
  static constexpr size_t kProfileReportsKept = 16;
  // Adds a node's report on `ref` (which must exist: Errc::not_found) and merges the last
  // kProfileReportsKept (profile_merge.hpp). Ids that are not blocks of the flist are dropped; a
  // report left with none is Errc::invalid_input and changes nothing. Each `reporter` (the
  // token's user) holds one slot, its latest report: one user cannot outvote the others.
  Result<ProfileReportResult> add_profile_report(const FlistRef& ref, std::span<const Hash> ids, const std::string& reporter);
  // The profile to serve for `ref`: the learnt one, else the one embedded in the flist, else
  // nullopt. Errc::not_found when `ref` does not exist.
  Result<std::optional<std::vector<Hash>>> profile(const FlistRef& ref) const;

  // A fresh path for an upload in progress.
  std::string temp_path();
  const HubLimits& limits() const { return limits_; }
  const std::string& root() const { return root_; }
  // Where the hub's blocks go: conversions write into it directly.
  BlockStore& blocks() { return *blocks_; }

 private:
  HubRepository(std::string root, std::shared_ptr<DirStore> blocks, HubLimits limits)
      : root_(std::move(root)), blocks_(std::move(blocks)), limits_(limits), digests_(std::make_shared<DigestCache>()) {}
  std::string flist_path(const FlistRef& ref) const;
  std::string source_path(const FlistRef& ref) const;
  Result<FlistInfo> stat_entry(const FlistRef& ref) const;
  Result<FlistInfo> install(const FlistRef& ref, const std::string& file);

  std::string root_;
  std::shared_ptr<DirStore> blocks_;
  HubLimits limits_;
  // md5 and sha256 of flist files by (device, inode, mtime, size): nodes ask for them on every
  // pull, and a file only changes by being replaced (a new inode).
  struct DigestCache {
    std::mutex mu;
    std::map<std::tuple<uint64_t, uint64_t, int64_t, uint64_t>, std::pair<std::string, std::string>> entries;
  };
  std::shared_ptr<DigestCache> digests_;
  std::shared_ptr<std::mutex> profiles_mu_ = std::make_shared<std::mutex>();  // reports and merges, one at a time
};

}  // namespace tiffin::hub
