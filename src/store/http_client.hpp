// A small HTTP client over libcurl, shared by the http(s):// block store and the hub client.
// Connections are pooled and reused (keep-alive); each request has a connect and a total
// timeout; transient failures (connection errors, 5xx, 429) are retried with exponential
// backoff. Bodies are bounded: a response larger than the limit is an error, never a partial read
// (stream() hands large bodies to a callback instead). Redirects are followed for GET and HEAD;
// curl sends an Authorization header only to the host it was meant for, never to the one a
// redirect leads to (registries redirect blobs to storage that must not see the token).
#pragma once

#include <chrono>
#include <functional>
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
  bool tls_verify = true;                  // false: https without checking the certificate
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
  // The final response's headers (after redirects), in order, names as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  // The last value of a header, its name compared without case; "" when absent.
  std::string header(std::string_view name) const;
};

// Receives a 2xx response's body as it arrives, with that status (a Range request may be
// answered 206 or, from the start, 200); an error aborts the transfer and is returned.
using HttpDataSink = std::function<Result<void>(long status, std::span<const uint8_t>)>;

class HttpClient {
 public:
  explicit HttpClient(HttpOptions opts = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP status is a successful result; Errc::unavailable when the server could not be
  // reached or kept answering 5xx/429 through every attempt.
  Result<HttpResponse> send(const HttpRequest& req);
  // For bodies too large to hold (registry blobs): a 2xx answer's body goes to `on_data` and not
  // into the response; other answers' bodies are kept (bounded) for messages. One attempt, no
  // total timeout (only the connect timeout, and request_timeout without a single byte): the
  // caller resumes a broken transfer with a Range request if it wants.
  Result<HttpResponse> stream(const HttpRequest& req, const HttpDataSink& on_data);
  const HttpOptions& options() const { return opts_; }

 private:
  Result<HttpResponse> send_once(void* curl, const HttpRequest& req, const HttpDataSink* stream = nullptr);
  void* acquire();
  void release(void* curl);

  HttpOptions opts_;
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL* handles kept for connection reuse
};

// "HTTP 404 from <url>: <first line of the body>" for error messages.
std::string describe_status(const HttpResponse& r, const std::string& url);

}  // namespace tiffin
