// The client side of the hub API (hub_api.hpp), over the pooled, retrying HttpClient.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hub/flist_ref.hpp"
#include "store/http_client.hpp"

namespace tiffin::hub {

class HubClient {
 public:
  // `token` may be empty for reads.
  HubClient(std::string base_url, std::string token, HttpOptions opts = {});

  const std::string& base() const { return base_; }
  // The ids the hub lacks (asked in batches).
  Result<std::vector<Hash>> missing(const std::vector<Hash>& ids);
  Result<void> put_block(const Hash& id, std::span<const uint8_t> sealed);
  // Uploads an flist (or a tar archive for the hub to pack); returns the hub's info on it.
  Result<nlohmann::json> put_flist(const FlistRef& ref, std::span<const uint8_t> content);
  // Asks the hub to convert the registry image `image` into `ref` (or find it converted); the
  // hub's info on the flist plus "digest". Waits as long as the conversion takes.
  Result<nlohmann::json> convert(const FlistRef& ref, const std::string& image, const std::string& platform = "");
  Result<nlohmann::json> link(const FlistRef& ref, const FlistRef& target);
  Result<void> remove(const FlistRef& ref);
  Result<Bytes> get_flist(const FlistRef& ref);
  // A layer chain the hub kept from a conversion (GET /api/layers/<hex>): an flist without
  // routes whose blocks are the hub's.
  Result<Bytes> get_layer_chain(const std::string& chain_hex);
  Result<nlohmann::json> info(const FlistRef& ref);
  Result<nlohmann::json> list(const std::string& user);
  // The hub's prefetch profile for `ref` (learnt from nodes, else embedded); nullopt when it has
  // none or is a hub without profiles (both answer 404).
  Result<std::optional<std::vector<Hash>>> fetch_profile(const FlistRef& ref);
  // Reports the blocks a run of `ref` read first, in order (the first HubApi::kMaxProfileReportIds
  // distinct ones are sent); needs a token (any user's). Returns the hub's answer: accepted,
  // dropped, reports, profile.
  Result<nlohmann::json> report_profile(const FlistRef& ref, std::span<const Hash> ids);

 private:
  Result<HttpResponse> call(const std::string& method, const std::string& path, std::span<const uint8_t> body = {}, unsigned ok = 200,
      const std::string& content_type = "application/octet-stream", HttpClient* http = nullptr);
  std::string base_, token_;
  HttpOptions opts_;
  HttpClient http_;
};

}  // namespace tiffin::hub
