#include "flist/block_writer.hpp"

#include "store/block_codec.hpp"

namespace tiffin {

BlockWriter::BlockWriter(BlockStore& store, unsigned threads, Progress* progress)
    : store_(store), progress_(progress), capacity_(std::max(2u, threads) * 4) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) threads_.emplace_back([this] { work(); });
}

BlockWriter::~BlockWriter() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  not_empty_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void BlockWriter::submit(size_t node, size_t index, Bytes plain) {
  std::unique_lock lock(mu_);
  not_full_.wait(lock, [&] { return queue_.size() < capacity_ || error_; });
  if (error_) return;  // finish() reports it; stop doing work
  queue_.push_back({node, index, std::move(plain)});
  not_empty_.notify_one();
}

void BlockWriter::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      not_empty_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    not_full_.notify_one();

    EncodedBlock b = encode_block(job.plain);
    std::string hex = to_hex(b.id);
    bool first;
    {
      std::lock_guard lock(mu_);
      first = seen_.insert(hex).second;
    }
    Result<void> r;
    bool sent = false;
    if (first) {
      auto has = store_.has(b.id);
      if (!has) r = std::unexpected(has.error());
      else if (!*has) {
        r = store_.put(b.id, b.sealed);
        sent = true;
      }
    }
    if (progress_) progress_->add(job.plain.size());
    std::lock_guard lock(mu_);
    ++blocks_;
    if (!r) {
      if (!error_) error_ = std::move(r.error());
      not_full_.notify_all();
      continue;
    }
    if (sent) {
      ++blocks_sent_;
      bytes_sent_ += b.sealed.size();
    }
    done_.push_back({job.node, job.index, {b.id, b.key}});
  }
}

Result<void> BlockWriter::finish(Tree& tree, PackStats& stats) {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  not_empty_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (error_) return std::unexpected(*error_);
  for (auto& d : done_) {
    auto& blocks = tree.nodes[d.node].blocks;
    if (blocks.size() <= d.index) blocks.resize(d.index + 1);
    blocks[d.index] = d.ref;
  }
  stats.blocks += blocks_;
  stats.blocks_sent += blocks_sent_;
  stats.bytes_sent += bytes_sent_;
  return {};
}

}  // namespace tiffin
