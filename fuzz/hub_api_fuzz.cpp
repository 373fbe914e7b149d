// Fuzzes the hub's request handling (targets, ranges, tokens, JSON bodies, uploads) without
// sockets. Input: "<method> <target>\n<range>\n<body…>"; a leading '!' makes the request carry
// a valid token of user "fuzz", so authenticated routes are reached too.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "hub/hub_api.hpp"

using namespace tiffin;
using namespace tiffin::hub;

namespace {

struct Hub {
  std::string root;
  std::unique_ptr<HubRepository> repo;
  HubKey key{};
  std::unique_ptr<HubApi> api;
  std::string token;
  Hub() {
    char tmpl[] = "/tmp/tiffin-hub-fuzz-XXXXXX";
    root = ::mkdtemp(tmpl);
    repo = std::make_unique<HubRepository>(*HubRepository::open(root, {.max_block = 1 << 20, .max_flist = 4 << 20}));
    key.fill(7);
    api = std::make_unique<HubApi>(*repo, key, "http://hub.fuzz");
    token = "Bearer " + issue_token(key, "fuzz", std::chrono::hours(24));
  }
  ~Hub() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

std::string take_line(std::string_view& s) {
  size_t nl = s.find('\n');
  std::string line(s.substr(0, nl));
  s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Hub hub;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  HubRequest req;
  if (!in.empty() && in[0] == '!') {
    req.authorization = hub.token;
    in.remove_prefix(1);
  }
  std::string first = take_line(in);
  size_t space = first.find(' ');
  if (space == std::string::npos) return 0;
  req.method = first.substr(0, space);
  req.target = first.substr(space + 1);
  req.range = take_line(in);
  if (HubApi::streams_body(req.method, req.target)) {
    req.body_file = hub.repo->temp_path();
    FILE* f = std::fopen(req.body_file.c_str(), "wb");
    if (!f) std::abort();
    std::fwrite(in.data(), 1, in.size(), f);
    std::fclose(f);
  } else {
    req.body = std::string(in);
  }
  HubResponse r = hub.api->handle(req);
  if (r.status < 100 || r.status > 599) std::abort();
  if (r.stream) {  // a streamed body (a batch of blocks) is written out, as the server would
    size_t sent = 0;
    (void)r.stream([&](std::span<const uint8_t> piece) -> Result<void> {
      sent += piece.size();
      return {};
    });
  }
  if (!req.body_file.empty() && ::access(req.body_file.c_str(), F_OK) == 0) std::abort();  // uploads never linger
  return 0;
}
