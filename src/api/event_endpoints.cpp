// /events: the node's event log, past (since/until) and as it grows, until `until` or the client
// leaves.
#include "api/docker_events.hpp"
#include "api/engine_api.hpp"
#include "api/filters.hpp"

namespace tiffin::api {

void add_event_endpoints(EngineApi& api) {
  api.route("GET", "/events", [&api](Request& r) -> Result<Response> {
    auto filter = TRY(EventFilter::parse(TRY(filter_pairs(r.arg("filters")))));
    std::optional<int64_t> since, until;
    if (!r.arg("since").empty()) since = TRY(parse_event_time(r.arg("since")));
    if (!r.arg("until").empty()) until = TRY(parse_event_time(r.arg("until")));
    if (since && until && *since > *until) return fail(Errc::invalid_input, "since must not be after until");
    EventLog log(TRY(api.engine()).events_path());
    Response res;
    res.stream = [log, filter, since, until](Connection& conn) {
      (void)stream_events(
          log, filter, since, until, [&](const Event& e) { return write_json_line(conn, event_json(e)).has_value(); },
          [&] { return !client_left(conn); });
    };
    return res;
  });
}

}  // namespace tiffin::api
