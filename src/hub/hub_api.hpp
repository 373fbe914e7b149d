// The hub's HTTP API, independent of the transport (hub_server.hpp feeds it parsed requests),
// so every route is testable without sockets.
// A replica (`tiffin hub sync`, hub_sync.hpp) copies a hub through the public reads alone.
//
// Reads (public):
//   GET|HEAD /<hex[0:2]>/<hex>, /blocks/<hex>    a block (the rfs http layout); Range supported
//   POST     /api/blocks/missing                 JSON array of hex ids → the ones the hub lacks
//   POST     /api/blocks/batch                   JSON array of ≤ 256 hex ids → those blocks,
//                                                framed (store/block_batch.hpp, hub_batch.hpp)
//   GET      /api/flist                          users
//   GET      /api/flist/<user>                   that user's flists and links
//   GET      /api/flist/<user>/<name>[:tag]      info: size, md5, sha256, updated, type, target
//                                                (+ image, digest, platform if converted here)
//   GET|HEAD /<user>/<name>[:tag].fl             the flist; Range supported
//   GET      /<user>/<name>[:tag].fl.md5         its md5 (0-hub)
//   GET      /metrics                            counters in the Prometheus text format: to
//                                                loopback clients, or with any valid token
//   GET      /api/flist/<user>/<name>[:tag]/profile  its prefetch profile (v1 text): the one
//                                                learnt from nodes' reports, else the one
//                                                embedded in the flist; 404 without either
// Writes (Authorization: Bearer <token of that user>):
//   PUT      /blocks/<hex>                       a block; 400 unless hex = BLAKE2b-256(body)
//   PUT      /api/flist/<user>/<name>[:tag]      an flist (SQLite) — 409 unless all blocks are
//                                                here — or a tar/tar.gz/… that the hub packs;
//                                                with Content-Type application/json, a body
//                                                {"image": "REF", "platform": "os/arch"} that
//                                                the hub converts from REF's registry
//                                                (hub_convert.hpp): 201 with the info plus
//                                                "digest"; 502 when the registry fails it
//   PUT      /api/flist/<user>/<name>[:tag]/link {"target": "<user>/<name>[:tag]"}
//   DELETE   /api/flist/<user>/<name>[:tag]
// Reports (Authorization: Bearer <any valid token>; hub_profile_api.cpp says why any):
//   POST     /api/flist/<user>/<name>[:tag]/profile  the blocks a node's run read first (v1 text
//                                                or a JSON array of hex ids; ≤ 2 MiB, else
//                                                413; ≤ 20 000 ids, else 413); ids that are not
//                                                blocks of that flist are dropped, a report
//                                                left with none is 400; 404 for no such flist.
//                                                The hub merges the latest report of each of
//                                                the last 16 reporting users per flist file
//                                                (HubRepository::add_profile_report)
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/fd.hpp"
#include "flist/flist_profile.hpp"
#include "hub/hub_convert.hpp"
#include "hub/hub_repository.hpp"
#include "hub/hub_token.hpp"

namespace tiffin::hub {

struct HubRequest {
  std::string method, target;
  std::string authorization, range, content_type;
  std::string body;       // small bodies
  std::string body_file;  // large bodies, streamed to a file under HubRepository::temp_path()
  std::string client;     // the peer's address ("127.0.0.1"); empty in-process
};

// Sends part of a streamed body; an error means the client is gone.
using HubBodyWriter = std::function<Result<void>(std::span<const uint8_t>)>;

struct HubResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  uint64_t content_length = 0;  // for HEAD, where body stays empty, and for `file`
  // A file body: content_length bytes of `file` from file_offset, which the server sends
  // straight from the page cache (sendfile) rather than through a copy in memory.
  std::shared_ptr<UniqueFd> file;
  uint64_t file_offset = 0;
  // When set, the body is whatever this writes (chunked), after the status and headers have
  // gone; its error cuts the connection, so the client sees a body cut short.
  std::function<Result<void>(const HubBodyWriter&)> stream;
};

// A request body naming blocks: a JSON array of hex ids, or {"ids": [...]}; at most `max`
// (Errc::invalid_input beyond, and for invalid JSON or a malformed id). Shared by the routes
// that take id lists (missing, batch, profile reports).
Result<std::vector<Hash>> parse_block_ids(const std::string& body, size_t max);
// A JSON answer with `status` (the hub's error messages quote what the client sent: any bytes).
HubResponse json_response(unsigned status, const nlohmann::json& j);

class HubApi {
 public:
  HubApi(HubRepository& repo, HubKey key, std::string public_url, std::vector<std::string> insecure_registries = {})
      : repo_(repo),
        key_(key),
        public_url_(std::move(public_url)),
        converter_(std::make_shared<HubConverter>(repo, std::move(insecure_registries))) {}

  static constexpr size_t kMaxProfileReportBody = 2u << 20;  // 20 000 ids in either form
  static constexpr size_t kMaxProfileReportIds = tiffin::kMaxProfileReportIds;

  HubResponse handle(const HubRequest& req);
  // For an upload that streams its body (streams_body): the answer refusing it when its token
  // may not write there, known from the header alone, before gigabytes arrive for nothing.
  std::optional<HubResponse> refuse_upload(const HubRequest& req);
  void set_public_url(std::string url) { public_url_ = std::move(url); }
  // What GET /metrics answers (404 until set).
  void set_metrics_page(std::function<std::string()> page) { metrics_page_ = std::move(page); }
  // Whether a request is answered from a file without real work (a block, an flist download,
  // the index): the server answers those on its I/O threads, everything else on workers.
  static bool answers_quickly(const std::string& method, const std::string& target);
  // Whether a request's body should be streamed to a file rather than held in memory: flist
  // and tar uploads are; a conversion request (JSON) is not.
  static bool streams_body(const std::string& method, const std::string& target, const std::string& content_type = "");
  // Whether a Content-Type is JSON ("application/json", any case, parameters ignored).
  static bool is_json(const std::string& content_type);

 private:
  Result<HubResponse> route(const HubRequest& req);
  static HubResponse error_answer(const Error& e);
  Result<std::string> authenticate(const HubRequest& req);  // the token's user
  Result<std::string> authorize(const HubRequest& req, const std::string& user);
  Result<HubResponse> serve_file(const HubRequest& req, const std::string& path, const std::string& type);
  Result<HubResponse> flist_api(const HubRequest& req, const std::vector<std::string>& parts);
  HubResponse convert_api(const HubRequest& req, const FlistRef& ref);
  Result<HubResponse> profile_api(const HubRequest& req, const FlistRef& ref);  // hub_profile_api.cpp

  HubRepository& repo_;
  HubKey key_;
  std::string public_url_;
  std::shared_ptr<HubConverter> converter_;  // shared: HubApi stays copyable
  std::function<std::string()> metrics_page_;
};

}  // namespace tiffin::hub
