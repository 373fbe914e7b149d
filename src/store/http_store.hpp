// http(s)://base — a read-only store in the rfs http layout: GET base/<hex[0:2]>/<hex>,
// falling back to base/<hex>. Requests go through the pooled, retrying HttpClient.
#pragma once

#include "store/block_store.hpp"
#include "store/http_client.hpp"

namespace tiffin {

class HttpStore final : public BlockStore {
 public:
  HttpStore(std::string base_url, std::string public_url, HttpOptions opts = {});

  Result<Bytes> get(const Hash& id) override;
  Result<void> put(const Hash& id, std::span<const uint8_t> sealed) override;
  Result<bool> has(const Hash& id) override;
  std::string url() const override { return public_url_; }

 private:
  // The 200 response for the block from the first layout that has it; nullopt when none does.
  Result<std::optional<HttpResponse>> find(const Hash& id, const char* method);

  std::string base_, public_url_;
  HttpClient client_;
};

}  // namespace tiffin
