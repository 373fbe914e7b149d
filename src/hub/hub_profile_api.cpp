// The hub's profile routes (hub_api.hpp): nodes report which blocks a flist's workload read
// first, the hub merges the reports and serves the result to every node that pulls the flist.
#include <nlohmann/json.hpp>

#include "flist/flist_profile.hpp"
#include "hub/hub_api.hpp"

namespace tiffin::hub {
namespace {

using pjson = nlohmann::json;

// A report's ids: the v1 text form or a JSON array of hex ids (or {"ids": [...]}).
Result<std::vector<Hash>> parse_profile_report(const std::string& body) {
  if (looks_like_profile_text(body)) return parse_profile_text(body, "the report");
  return parse_block_ids(body, SIZE_MAX);  // the body is bounded; the caller answers 413 for too many
}

}  // namespace

Result<HubResponse> HubApi::profile_api(const HubRequest& req, const FlistRef& ref) {
  const std::string& m = req.method;
  if (m == "GET" || m == "HEAD") {
    auto ids = TRY(repo_.profile(ref));
    if (!ids) return fail(Errc::not_found, "no prefetch profile for " + ref.str());
    HubResponse r;
    r.content_type = "text/plain";
    r.body = profile_text(*ids);
    r.content_length = r.body.size();
    if (m == "HEAD") r.body.clear();
    return r;
  }
  if (m != "POST") return fail(Errc::not_found, "no such API: " + m + " " + req.target);
  // Any valid token: reading an flist is public, so any user may run it and learn what it reads.
  // The token keeps anonymous clients out, and a report can only reorder blocks the flist
  // already names (the rest are dropped), never add content or touch the flist.
  std::string reporter = TRY(authenticate(req));
  if (req.body.size() > kMaxProfileReportBody)
    return json_response(413, pjson{{"error", "a profile report is at most " + std::to_string(kMaxProfileReportBody) + " bytes"}});
  std::vector<Hash> ids = TRY(parse_profile_report(req.body));
  if (ids.size() > kMaxProfileReportIds)
    return json_response(413, pjson{{"error", "a profile report names at most " + std::to_string(kMaxProfileReportIds) + " blocks"}});
  if (ids.empty()) return fail(Errc::invalid_input, "the report names no blocks");
  auto done = TRY(repo_.add_profile_report(ref, ids, reporter));
  return json_response(200, pjson{{"flist", ref.str()}, {"accepted", done.accepted}, {"dropped", done.dropped}, {"reports", done.reports},
                                {"profile", done.merged}});
}

}  // namespace tiffin::hub
