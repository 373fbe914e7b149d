// Encodes file chunks into blocks on every core and stores them. The producer (a directory
// walk or a tar stream) submits chunks in order; a bounded queue keeps memory flat however
// large the input. A block the store already has, or that this run already stored, is not
// sent again.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/progress.hpp"
#include "flist/tree.hpp"
#include "store/block_store.hpp"

namespace tiffin {

struct PackStats {
  uint64_t files = 0;
  uint64_t bytes = 0;        // plain bytes of all file content
  uint64_t blocks = 0;       // chunks encoded
  uint64_t blocks_sent = 0;  // blocks the store did not have yet
  uint64_t bytes_sent = 0;   // sealed bytes sent to the store
  uint64_t whiteouts = 0;    // OCI layers: whiteouts and opaque markers applied
};

class BlockWriter {
 public:
  BlockWriter(BlockStore& store, unsigned threads, Progress* progress);
  ~BlockWriter();

  // Chunk `index` of node `node`. Blocks while the queue is full.
  void submit(size_t node, size_t index, Bytes plain);
  // Waits for every submitted chunk; fills each node's blocks. The first error wins.
  Result<void> finish(Tree& tree, PackStats& stats);

 private:
  struct Job {
    size_t node, index;
    Bytes plain;
  };
  struct Done {
    size_t node, index;
    BlockRef ref;
  };
  void work();

  BlockStore& store_;
  Progress* progress_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Job> queue_;
  size_t capacity_;
  bool closing_ = false;
  std::vector<Done> done_;
  std::unordered_set<std::string> seen_;  // hex ids stored (or found) in this run
  std::optional<Error> error_;
  uint64_t blocks_ = 0, blocks_sent_ = 0, bytes_sent_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace tiffin
