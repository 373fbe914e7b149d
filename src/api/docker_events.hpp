// The node's events (common/event_log.hpp) as docker shows them: the Engine API's /events
// documents, its filters, and the times clients pass as since/until. Pure, for the API and the
// CLI's `tiffin events` alike.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/event_log.hpp"

namespace tiffin::api {

// {"Type","Action","Actor":{"ID","Attributes"},"scope","time","timeNano"} and, for containers
// and images, the old status/id/from fields docker still sends.
nlohmann::json event_json(const Event& e);

// docker's event filters: container, image, event, type, label, volume, network (values of one
// key are alternatives; keys must all hold). Errc::invalid_input for another key.
class EventFilter {
 public:
  static Result<EventFilter> parse(const std::vector<std::string>& key_values);
  bool matches(const Event& e) const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// What `docker events` shows: the log's past within [since, until] when either is given, then
// (unless `until` has passed) what is appended, polled every 100 ms, until `until`, `emit`
// returns false or `keep_going` does. Only matching events reach `emit`.
Result<void> stream_events(const EventLog& log, const EventFilter& filter, std::optional<int64_t> since, std::optional<int64_t> until,
    const std::function<bool(const Event&)>& emit, const std::function<bool()>& keep_going);

// A time as docker's clients send it, in unix nanoseconds: seconds with an optional fraction
// ("1700000000", "1700000000.123456789"; the CLI turns "10m" into one).
Result<int64_t> parse_event_time(const std::string& text);

}  // namespace tiffin::api
