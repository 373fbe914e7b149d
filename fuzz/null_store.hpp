// A block store that accepts every block without keeping it: for fuzz targets whose subject is
// a reader or converter, not a store.
#pragma once

#include "store/block_store.hpp"

namespace tiffin::fuzz {

class NullStore final : public BlockStore {
 public:
  Result<Bytes> get(const Hash&) override { return fail(Errc::not_found, "null store"); }
  Result<void> put(const Hash&, std::span<const uint8_t>) override { return {}; }
  Result<bool> has(const Hash&) override { return true; }
  std::string url() const override { return "null://"; }
};

}  // namespace tiffin::fuzz
