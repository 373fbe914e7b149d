#include "store/http_client.hpp"

#include <curl/curl.h>

#include <strings.h>

#include <algorithm>
#include <optional>
#include <thread>

namespace tiffin {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct Sink {
  HttpResponse* resp;
  size_t limit;
  CURL* curl = nullptr;
  const HttpDataSink* stream = nullptr;  // where a 2xx body goes, when streaming
  bool overflow = false;
  std::optional<Error> stream_error;
};

size_t on_data(char* ptr, size_t size, size_t n, void* userdata) {
  auto* sink = static_cast<Sink*>(userdata);
  size_t len = size * n;
  if (sink->stream) {
    long status = 0;
    curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      auto r = (*sink->stream)(status, {reinterpret_cast<const uint8_t*>(ptr), len});
      if (!r) {
        sink->stream_error = std::move(r).error();
        return 0;
      }
      return len;
    }
  }
  if (sink->resp->body.size() + len > sink->limit) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  if (sink->resp->body.empty()) {  // one allocation for a body of announced length
    curl_off_t announced = -1;
    curl_easy_getinfo(sink->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
    if (announced > 0 && static_cast<size_t>(announced) <= sink->limit) sink->resp->body.reserve(static_cast<size_t>(announced));
  }
  sink->resp->body.insert(sink->resp->body.end(), ptr, ptr + len);
  return len;
}

// Header lines of every response curl sees; a status line starts over (redirects, 100 Continue),
// so what remains are the final response's.
size_t on_header(char* ptr, size_t size, size_t n, void* userdata) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(userdata);
  std::string_view line(ptr, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    headers->clear();
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    headers->emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return size * n;
}

bool transient(long status) { return status == 429 || status >= 500; }

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
};

}  // namespace

HttpClient::HttpClient(HttpOptions opts) : opts_(opts) { static CurlGlobal init; }

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::acquire() {
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

void HttpClient::release(void* curl) {
  std::lock_guard lock(mu_);
  idle_.push_back(curl);
}

std::string HttpResponse::header(std::string_view name) const {
  std::string found;
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) found = v;
  return found;
}

Result<HttpResponse> HttpClient::send_once(void* handle, const HttpRequest& req, const HttpDataSink* stream) {
  CURL* curl = static_cast<CURL*>(handle);
  HttpResponse resp;
  Sink sink{&resp, stream ? std::min<size_t>(opts_.max_body, 1 << 20) : opts_.max_body, curl, stream};
  HeaderList headers;
  // An empty Expect stops curl from waiting for "100 Continue" before every upload.
  headers.list = curl_slist_append(headers.list, "Expect:");
  for (const auto& h : req.headers) headers.list = curl_slist_append(headers.list, h.c_str());
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method != "DELETE" || !req.body.empty()) {
      // Never a null pointer: curl would read the body from its read callback (stdin) instead.
      static const char empty = 0;
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.empty() ? &empty : reinterpret_cast<const char*>(req.body.data()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp.headers);
  if (stream) {
    // No bound on the whole transfer (a blob may be gigabytes), but on a stalled one.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(opts_.request_timeout.count() / 1000)));
  } else {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.request_timeout.count()));
  }
  if (!opts_.tls_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  // Explicit although it is curl's default: credentials never follow a redirect to another host.
  curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, req.method == "GET" || req.method == "HEAD" ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(curl);
  if (sink.stream_error) return std::unexpected(std::move(*sink.stream_error));
  if (sink.overflow) return fail(Errc::corrupt, req.url + ": response larger than " + std::to_string(opts_.max_body) + " bytes");
  if (rc != CURLE_OK) return fail(Errc::unavailable, req.url + ": " + curl_easy_strerror(rc));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  char* ct = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) resp.content_type = ct;
  return resp;
}

Result<HttpResponse> HttpClient::send(const HttpRequest& req) {
  void* curl = acquire();
  if (!curl) return fail(Errc::internal, "curl_easy_init failed");
  auto delay = opts_.backoff;
  Result<HttpResponse> last = fail(Errc::unavailable, req.url + ": no attempt made");
  for (int attempt = 0; attempt < std::max(1, opts_.attempts); ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    last = send_once(curl, req);
    if (last && !transient(last->status)) break;
    if (!last && last.error().kind != Errc::unavailable) break;
  }
  release(curl);
  if (last && transient(last->status)) return fail(Errc::unavailable, describe_status(*last, req.url));
  return last;
}

Result<HttpResponse> HttpClient::stream(const HttpRequest& req, const HttpDataSink& on_data) {
  void* curl = acquire();
  if (!curl) return fail(Errc::internal, "curl_easy_init failed");
  auto r = send_once(curl, req, &on_data);
  release(curl);
  return r;
}

std::string describe_status(const HttpResponse& r, const std::string& url) {
  std::string msg = url + ": HTTP " + std::to_string(r.status);
  std::string body(r.body.begin(), r.body.begin() + std::min<size_t>(r.body.size(), 300));
  if (auto nl = body.find('\n'); nl != std::string::npos) body.resize(nl);
  bool readable = r.content_type.starts_with("text/") || r.content_type.find("json") != std::string::npos;
  if (readable && !body.empty()) msg += ": " + body;
  return msg;
}

}  // namespace tiffin
