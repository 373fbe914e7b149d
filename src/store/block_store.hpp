// The one interface every block store implements (dir://, http(s)://, zdb://, the router).
// Stores hold sealed blocks by id and know nothing about their content. Implementations are
// safe to call from several threads at once.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace tiffin {

class BlockStore {
 public:
  virtual ~BlockStore() = default;
  // The sealed bytes of a block. Errc::not_found when the store does not have it,
  // Errc::unavailable when the store could not be reached.
  virtual Result<Bytes> get(const Hash& id) = 0;
  virtual Result<void> put(const Hash& id, std::span<const uint8_t> sealed) = 0;
  virtual Result<bool> has(const Hash& id) = 0;
  // Makes earlier puts durable (e.g. one syncfs instead of an fsync per block).
  virtual Result<void> flush() { return {}; }
  // The store's URL as written into flists: credentials stripped.
  virtual std::string url() const = 0;
};

using StorePtr = std::shared_ptr<BlockStore>;

}  // namespace tiffin
