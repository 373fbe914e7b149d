// A small HTTP client over libcurl, shared by the http(s):// block store and the hub client.
// Connections are pooled and reused (keep-alive); each request has a connect and a total
// timeout; transient failures (connection errors, 5xx, 429) are retried with exponential
// backoff. Bodies are bounded: a response larger than the limit is an error, never a partial read.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace tiffin {

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{20000};
  int attempts = 3;                        // tries per request, including the first
  std::chrono::milliseconds backoff{100};  // doubled after every failed try
  size_t max_body = 32 * 1024 * 1024;      // refuse larger responses
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  std::span<const uint8_t> body;
  std::vector<std::string> headers;  // "Name: value"
};

struct HttpResponse {
  long status = 0;
  Bytes body;
  std::string content_type;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions opts = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP status is a successful result; Errc::unavailable when the server could not be
  // reached or kept answering 5xx/429 through every attempt.
  Result<HttpResponse> send(const HttpRequest& req);
  const HttpOptions& options() const { return opts_; }

 private:
  Result<HttpResponse> send_once(void* curl, const HttpRequest& req);
  void* acquire();
  void release(void* curl);

  HttpOptions opts_;
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL* handles kept for connection reuse
};

// "HTTP 404 from <url>: <first line of the body>" for error messages.
std::string describe_status(const HttpResponse& r, const std::string& url);

}  // namespace tiffin
