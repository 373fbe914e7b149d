// /events: the node's event log, past (since) and as it grows, until `until` or the client leaves.
#include <thread>

#include "api/docker_events.hpp"
#include "api/engine_api.hpp"
#include "api/filters.hpp"

namespace tiffin::api {

void add_event_endpoints(EngineApi& api) {
  api.route("GET", "/events", [&api](Request& r) -> Result<Response> {
    auto filter = TRY(EventFilter::parse(TRY(filter_pairs(r.arg("filters")))));
    int64_t now = unix_nanos();
    std::optional<int64_t> since, until;
    if (!r.arg("since").empty()) since = TRY(parse_event_time(r.arg("since")));
    if (!r.arg("until").empty()) until = TRY(parse_event_time(r.arg("until")));
    if (since && until && *since > *until) return fail(Errc::invalid_input, "since must not be after until");
    EventLog log(TRY(api.engine()).events_path());
    // Following starts before the past is read, so nothing falls between the two.
    std::optional<EventLog::Follower> follower;
    if (!until || *until > now) follower = TRY(log.follow());
    std::vector<Event> past;
    if (since || until) past = TRY(log.read(since.value_or(0), until ? std::min(*until, now) : now));
    Response res;
    res.stream = [filter, until, past = std::move(past),
                     follower = std::make_shared<std::optional<EventLog::Follower>>(std::move(follower))](Connection& conn) {
      int64_t last = std::numeric_limits<int64_t>::min();
      for (const auto& e : past) {
        if (filter.matches(e) && !write_json_line(conn, event_json(e))) return;
        last = std::max(last, e.time_nano);
      }
      if (!*follower) return;
      for (;;) {
        auto got = (*follower)->poll();
        if (!got) return;
        for (const auto& e : *got) {
          if (e.time_nano <= last || !filter.matches(e)) continue;  // read with the past already
          if (until && e.time_nano > *until) return;
          if (!write_json_line(conn, event_json(e))) return;
        }
        if (until && unix_nanos() > *until) return;
        if (client_left(conn)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    };
    return res;
  });
}

}  // namespace tiffin::api
