// The one interface every block store implements (dir://, http(s)://, zdb://, the router).
// Stores hold sealed blocks by id and know nothing about their content. Implementations are
// safe to call from several threads at once.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace tiffin {

// Receives one block of a get_many: its index in the ids asked for, and its sealed bytes or
// the error get() would have given for it.
using BlockSink = std::function<void(size_t index, Result<Bytes> sealed)>;

class BlockStore {
 public:
  virtual ~BlockStore() = default;
  // The sealed bytes of a block. Errc::not_found when the store does not have it,
  // Errc::unavailable when the store could not be reached.
  virtual Result<Bytes> get(const Hash& id) = 0;
  // Many blocks at once, each handed to `on_block` as soon as it is there: exactly once per
  // index, in any order, never two calls at once (possibly from another thread), all before
  // get_many returns. Errors are per block (Errc::not_found, Errc::unavailable for those a
  // broken transfer did not deliver). The default asks get() for each, kParallelGets at once
  // (a zdb or dir store, an http server without the batch route).
  virtual void get_many(std::span<const Hash> ids, const BlockSink& on_block);
  static constexpr size_t kParallelGets = 8;
  virtual Result<void> put(const Hash& id, std::span<const uint8_t> sealed) = 0;
  virtual Result<bool> has(const Hash& id) = 0;
  // Makes earlier puts durable (e.g. one syncfs instead of an fsync per block).
  virtual Result<void> flush() { return {}; }
  // The store's URL as written into flists: credentials stripped.
  virtual std::string url() const = 0;
};

using StorePtr = std::shared_ptr<BlockStore>;

}  // namespace tiffin
