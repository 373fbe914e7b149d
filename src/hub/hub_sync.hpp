// `tiffin hub sync FROM`: a replica hub that pulls another hub's flists, links and blocks, so a
// route naming both survives the loss of either (nodes already try replicas in random order
// and fail over, store/router.hpp).
//
// A round, against the source's public API only (hub_api.hpp):
//   1. GET /api/flist, then GET /api/flist/<user> for each user: the source's flists and links.
//   2. For each regular flist whose sha256 differs from the local copy's (GET its info): the .fl
//      is downloaded under <root>/replica/tmp and must load (load_flist); the blocks it names
//      that the local hub lacks are fetched with POST /api/blocks/batch (≤ 256 per request),
//      each checked to be the BLAKE2b-256 of its bytes, stored and flushed; only then is the
//      flist installed (HubRepository::put_flist, a rename). A replica therefore never serves
//      an flist whose blocks it lacks, and a round cut short leaves only whole flists behind:
//      the next round fetches just the blocks still missing.
//   3. Links are re-created once their targets are here (links to links in later passes).
//   4. With `delete_gone`, flists and links the source no longer lists are removed here.
//
// With `add_route` (this replica's own public URL), the installed copy gets a route to this
// replica after the source's (flist_edit.hpp add_routes), so a node that pulls the flist from
// either hub reads blocks from both. The copy then differs from the source's file; its source's
// sha256 is kept in <root>/replica/flists/<user>/<name>:<tag>.json so an unchanged flist is
// not downloaded again every round. A signed flist is copied unchanged: its signatures cover the
// routes, and a node that checks them would refuse the copy. Nothing else under <root> changes: the replica is a hub
// like any other (`tiffin hub serve` on the same root, running at the same time, is fine —
// all writes are by rename, and the sync's temp files are not under <root>/tmp, which a
// starting server empties).
//
// Prefetch profiles learnt by the source are not copied: a replica learns its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::hub {

struct SyncOptions {
  std::string add_route;     // this replica's public URL: routed to in the copies (empty: none)
  bool delete_gone = false;  // remove flists and links the source no longer has
  bool progress = false;     // a line on stderr per flist copied
};

struct SyncReport {
  uint64_t flists_copied = 0, flists_unchanged = 0, flists_removed = 0;
  uint64_t links_made = 0, links_unchanged = 0;
  uint64_t blocks_fetched = 0, bytes_fetched = 0;  // blocks, and their sealed bytes
  uint64_t flist_bytes = 0;                        // .fl files downloaded
  double seconds = 0;
  // Flists or links that could not be copied this round ("user/name:tag: why"); the rest of
  // the round went on without them and the next round tries them again.
  std::vector<std::string> failures;
};

// One round from the hub at `from_url` into the hub whose root is `root` (created if new).
// An error means the round could not start or list the source (nothing was removed then);
// per-flist trouble is in SyncReport::failures.
Result<SyncReport> sync_hub(const std::string& from_url, const std::string& root, const SyncOptions& opts);

// Rounds every `interval` (from the start of one to the start of the next, or at once when a
// round took longer) until SIGTERM or SIGINT; each round's outcome goes to `on_round`. A round
// that fails (the source down) is reported and the next one tries again.
Result<void> sync_hub_every(const std::string& from_url, const std::string& root, const SyncOptions& opts, std::chrono::seconds interval,
    const std::function<void(const Result<SyncReport>&)>& on_round);

}  // namespace tiffin::hub
