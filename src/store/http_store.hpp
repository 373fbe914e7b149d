// http(s)://base — a read-only store in the rfs http layout: GET base/<hex[0:2]>/<hex>,
// falling back to base/<hex>. Requests go through the pooled, retrying HttpClient.
// get_many asks a tiffin hub for up to kBatchMaxIds blocks per POST base/api/blocks/batch
// (store/block_batch.hpp) and hands each on as its frame arrives; a server without that
// endpoint (404, 405, 501: rfs http stores, plain file servers) is remembered as such and
// asked with single GETs instead, several at once.
#pragma once

#include <atomic>

#include "store/block_store.hpp"
#include "store/http_client.hpp"

namespace tiffin {

class HttpStore final : public BlockStore {
 public:
  HttpStore(std::string base_url, std::string public_url, HttpOptions opts = {});

  Result<Bytes> get(const Hash& id) override;
  void get_many(std::span<const Hash> ids, const BlockSink& on_block) override;
  Result<void> put(const Hash& id, std::span<const uint8_t> sealed) override;
  Result<bool> has(const Hash& id) override;
  std::string url() const override { return public_url_; }
  // Whether this server turned out to lack the batch endpoint.
  bool batch_unsupported() const { return no_batch_; }

 private:
  // The 200 response for the block from the first layout that has it; nullopt when none does.
  Result<std::optional<HttpResponse>> find(const Hash& id, const char* method);

  // One batch request; false (and nothing handed on) when the server lacks the endpoint.
  bool get_batch(std::span<const Hash> ids, size_t offset, const BlockSink& on_block);

  std::string base_, public_url_;
  HttpClient client_;
  std::atomic<bool> no_batch_{false};
};

}  // namespace tiffin
