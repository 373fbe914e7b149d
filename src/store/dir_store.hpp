// dir:///path — blocks as files at <path>/<hex[0:2]>/<hex>, the rfs layout.
// A put writes a temp file and renames it, so a reader never sees a partial block under its
// final name. Puts are not fsync'd one by one; flush() makes them durable with one syncfs().
// A block torn by a crash before flush() is still caught: reads verify id = hash(content).
#pragma once

#include "store/block_store.hpp"

namespace tiffin {

class DirStore final : public BlockStore {
 public:
  // `create`: make the directory (and its parents). Without it a missing directory is a store with no blocks.
  static Result<std::shared_ptr<DirStore>> open(const std::string& root, bool create);

  Result<Bytes> get(const Hash& id) override;
  Result<void> put(const Hash& id, std::span<const uint8_t> sealed) override;
  Result<bool> has(const Hash& id) override;
  Result<void> flush() override;
  std::string url() const override { return "dir://" + root_; }

  std::string block_path(const Hash& id) const;

 private:
  explicit DirStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace tiffin
