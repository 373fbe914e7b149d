#include "store/http_store.hpp"

namespace tiffin {

HttpStore::HttpStore(std::string base_url, std::string public_url, HttpOptions opts)
    : base_(std::move(base_url)), public_url_(std::move(public_url)), client_(opts) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

Result<std::optional<HttpResponse>> HttpStore::find(const Hash& id, const char* method) {
  std::string hex = to_hex(id);
  for (const std::string& url : {base_ + "/" + hex.substr(0, 2) + "/" + hex, base_ + "/" + hex}) {
    HttpResponse r = TRY(client_.send({.method = method, .url = url}));
    if (r.status == 200) return std::optional(std::move(r));
    if (r.status != 404) return fail(Errc::io, describe_status(r, url));
  }
  return std::nullopt;
}

Result<Bytes> HttpStore::get(const Hash& id) {
  auto found = TRY(find(id, "GET"));
  if (!found) return fail(Errc::not_found, "block " + to_hex(id) + " not in " + public_url_);
  return std::move(found->body);
}

Result<bool> HttpStore::has(const Hash& id) {
  auto found = TRY(find(id, "HEAD"));
  return found.has_value();
}

Result<void> HttpStore::put(const Hash&, std::span<const uint8_t>) {
  return fail(Errc::unsupported, public_url_ + " is a read-only http store (push to a hub with `tiffin push`)");
}

}  // namespace tiffin
