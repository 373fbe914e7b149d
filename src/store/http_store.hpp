// http(s)://base — a read-only store in the rfs http layout: GET base/<hex[0:2]>/<hex>,
// falling back to base/<hex>. Connections are pooled and reused (keep-alive); each request
// has a connect and a total timeout; transient failures (connection errors, 5xx, 429) are
// retried with exponential backoff.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "store/block_store.hpp"

namespace tiffin {

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{20000};
  int attempts = 3;                                // tries per request, including the first
  std::chrono::milliseconds backoff{100};          // doubled after every failed try
  size_t max_block_size = 32 * 1024 * 1024;        // refuse larger responses
};

class HttpStore final : public BlockStore {
 public:
  HttpStore(std::string base_url, std::string public_url, HttpOptions opts = {});
  ~HttpStore() override;

  Result<Bytes> get(const Hash& id) override;
  Result<void> put(const Hash& id, std::span<const uint8_t> sealed) override;
  Result<bool> has(const Hash& id) override;
  std::string url() const override { return public_url_; }

 private:
  struct Response {
    long status = 0;
    Bytes body;
  };
  Result<Response> request(const std::string& url, bool head);
  Result<Response> request_once(void* curl, const std::string& url, bool head);
  void* acquire();
  void release(void* curl);

  std::string base_, public_url_;
  HttpOptions opts_;
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL* handles kept for connection reuse
};

}  // namespace tiffin
