#include "store/http_store.hpp"

#include <curl/curl.h>

#include <thread>

namespace tiffin {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct Sink {
  Bytes* body;
  size_t limit;
  bool overflow = false;
};

size_t on_data(char* ptr, size_t size, size_t n, void* userdata) {
  auto* sink = static_cast<Sink*>(userdata);
  size_t len = size * n;
  if (sink->body->size() + len > sink->limit) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  sink->body->insert(sink->body->end(), ptr, ptr + len);
  return len;
}

bool transient(long status) { return status == 429 || status >= 500; }

}  // namespace

HttpStore::HttpStore(std::string base_url, std::string public_url, HttpOptions opts)
    : base_(std::move(base_url)), public_url_(std::move(public_url)), opts_(opts) {
  static CurlGlobal init;
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

HttpStore::~HttpStore() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpStore::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void HttpStore::release(void* curl) {
  std::lock_guard lock(mu_);
  idle_.push_back(curl);
}

Result<HttpStore::Response> HttpStore::request_once(void* handle, const std::string& url, bool head) {
  CURL* curl = static_cast<CURL*>(handle);
  Response resp;
  Sink sink{&resp.body, opts_.max_block_size};
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOBODY, head ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(curl);
  if (sink.overflow) return fail(Errc::corrupt, url + ": response larger than a block can be");
  if (rc != CURLE_OK) return fail(Errc::unavailable, url + ": " + curl_easy_strerror(rc));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

Result<HttpStore::Response> HttpStore::request(const std::string& url, bool head) {
  void* curl = acquire();
  if (!curl) return fail(Errc::internal, "curl_easy_init failed");
  auto delay = opts_.backoff;
  Result<Response> last = fail(Errc::unavailable, url + ": no attempt made");
  for (int attempt = 0; attempt < std::max(1, opts_.attempts); ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    last = request_once(curl, url, head);
    if (last && !transient(last->status)) break;
    if (!last && last.error().kind != Errc::unavailable) break;
  }
  release(curl);
  if (last && transient(last->status))
    return fail(Errc::unavailable, url + ": HTTP " + std::to_string(last->status));
  return last;
}

Result<Bytes> HttpStore::get(const Hash& id) {
  std::string hex = to_hex(id);
  for (const std::string& url : {base_ + "/" + hex.substr(0, 2) + "/" + hex, base_ + "/" + hex}) {
    Response r = TRY(request(url, false));
    if (r.status == 200) return std::move(r.body);
    if (r.status != 404) return fail(Errc::io, url + ": HTTP " + std::to_string(r.status));
  }
  return fail(Errc::not_found, "block " + hex + " not in " + public_url_);
}

Result<bool> HttpStore::has(const Hash& id) {
  std::string hex = to_hex(id);
  for (const std::string& url : {base_ + "/" + hex.substr(0, 2) + "/" + hex, base_ + "/" + hex}) {
    Response r = TRY(request(url, true));
    if (r.status == 200) return true;
    if (r.status != 404) return fail(Errc::io, url + ": HTTP " + std::to_string(r.status));
  }
  return false;
}

Result<void> HttpStore::put(const Hash&, std::span<const uint8_t>) {
  return fail(Errc::unsupported, public_url_ + " is a read-only http store");
}

}  // namespace tiffin
