// `tiffin hub gc`: freeing the blocks no flist references. The hub never frees a block on its
// own (deleting an flist keeps its blocks, a failed tar upload leaves its blocks behind); this
// does, as a separate pass that is safe to run — in another process — while `tiffin hub serve`
// serves the same root and while pushes and conversions run:
//
//   mark   every regular file under flists/<user>/ (links are symlinks: their targets are
//          marked anyway) and every layer chain under layers/ (converted layers reuse their
//          blocks without writing them again), each read from its SQLite block table alone.
//          An flist that cannot be read aborts the collection, naming it: a block is never
//          freed because a file could not be read.
//   sweep  every block under blocks/ that is unmarked and whose mtime is older than the grace
//          period is a candidate; they are deleted in slices of 1024, each under the exclusive
//          gc.lock (gc_lock.hpp) after reading the flists installed since the last look, each
//          block stat'ed again right before it goes (skipped if it became young).
//   tidy   files under tmp/ (and block writes a crash cut short) older than the grace period,
//          and profiles/<sha256>/ directories of no current flist file, older than it.
//
// The same pass frees a node's store (Layout::node, Engine::free_unused_blocks): there the
// flists whose blocks stay are <root>/images/*.fl (every image, those of containers included),
// <root>/build-cache/*.fl (the build cache's layers) and <root>/layers/*.fl (converted registry
// layers), and the node's writers (build, import, pull, commit) hold gc.lock shared from
// their first block to the file that names it, so a grace of 0 is safe there.
//
// The grace period is what keeps a push in progress whole: its new blocks are young, and the
// blocks the hub already had are made young when the pusher asks which are missing
// (HubRepository::missing touches the ones it reports present) — a push that loses the race
// anyway is refused at its flist PUT (409) and uploads again (push.cpp). See gc_lock.hpp. A
// replica's `hub sync` (hub_sync.hpp) installs the same way (missing, put_block, put_flist): a
// round that loses the race fails that flist, and the next round fetches its blocks again.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace tiffin::hub {

struct GcOptions {
  bool dry_run = false;  // count what would go; delete nothing
  std::chrono::seconds grace{3600};
  enum class Layout { hub, node } layout = Layout::hub;
};

struct GcReport {
  uint64_t flists_scanned = 0;  // flist files and layer chains read
  uint64_t blocks_scanned = 0;  // blocks found under blocks/
  uint64_t blocks_marked = 0;   // distinct ids the flists name
  uint64_t blocks_young = 0;    // unreferenced but kept: inside the grace period
  uint64_t blocks_freed = 0;    // deleted (dry run: would be)
  uint64_t bytes_freed = 0;
  uint64_t temp_files_freed = 0;
  uint64_t profiles_freed = 0;  // stale profiles/<sha256>/ directories
  double seconds = 0;
};

Result<GcReport> collect_garbage(const std::string& root, const GcOptions& opts);
// The flists of a node's root whose blocks stay (Layout::node above).
inline constexpr const char* kNodeFlistDirs[] = {"images", "build-cache", "layers"};

}  // namespace tiffin::hub
