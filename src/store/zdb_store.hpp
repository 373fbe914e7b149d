// zdb://[user[:pass]@]host[:port=9900][/namespace] — blocks in 0-db (or Redis) under their raw
// 32-byte id with GET/SET/EXISTS. With a namespace the connection runs `SELECT ns [pass]` (0-db),
// without one but with a password `AUTH [user] pass` (Redis). Connections are pooled; a broken one
// is dropped and the request retried once on a fresh connection.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "store/block_store.hpp"
#include "store/store_url.hpp"

namespace tiffin {

struct ZdbOptions {
  std::chrono::milliseconds timeout{3000};
};

class ZdbStore final : public BlockStore {
 public:
  ZdbStore(StoreUrl url, ZdbOptions opts = {});
  ~ZdbStore() override;

  Result<Bytes> get(const Hash& id) override;
  Result<void> put(const Hash& id, std::span<const uint8_t> sealed) override;
  Result<bool> has(const Hash& id) override;
  std::string url() const override { return url_.public_url(); }

 private:
  struct Reply;
  template <class F>
  auto with_connection(F&& f) -> decltype(f(nullptr));
  Result<void*> connect();

  StoreUrl url_;
  ZdbOptions opts_;
  std::mutex mu_;
  std::vector<void*> idle_;  // redisContext*
};

}  // namespace tiffin
