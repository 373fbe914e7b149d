#include "api/docker_events.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <thread>
#include <map>

#include "common/text.hpp"

namespace tiffin::api {

using json = nlohmann::json;

json event_json(const Event& e) {
  json j = {{"Type", e.type}, {"Action", e.action}, {"Actor", {{"ID", e.id}, {"Attributes", e.attributes}}}, {"scope", "local"},
      {"time", e.time_nano / 1'000'000'000}, {"timeNano", e.time_nano}};
  if (e.type == "container" || e.type == "image") {
    j["status"] = e.action;
    j["id"] = e.id;
    if (auto image = e.attributes.find("image"); e.type == "container" && image != e.attributes.end()) j["from"] = image->second;
  }
  return j;
}

Result<EventFilter> EventFilter::parse(const std::vector<std::string>& key_values) {
  static const std::vector<std::string> keys = {"container", "image", "event", "type", "label", "volume", "network"};
  EventFilter f;
  for (const auto& kv : key_values) {
    size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq), value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) return fail(Errc::invalid_input, "invalid filter '" + key + "'");
    f.pairs_.emplace_back(key, value);
  }
  return f;
}

namespace {

std::string attribute(const Event& e, const std::string& key) {
  auto it = e.attributes.find(key);
  return it == e.attributes.end() ? "" : it->second;
}

// An id, its docker prefix form, or a name.
bool names(const Event& e, const std::string& value) {
  if (value.empty()) return false;
  std::string id = e.id.starts_with("sha256:") ? e.id.substr(7) : e.id;
  return e.id == value || attribute(e, "name") == value || (value.size() >= 12 && id.starts_with(value)) ||
         (value.starts_with("sha256:") && e.id == value);
}

bool holds(const Event& e, const std::string& key, const std::string& value) {
  if (key == "type") return e.type == value;
  // "health_status" matches "health_status: healthy", as docker's exec_create: … do.
  if (key == "event") return e.action == value || e.action.starts_with(value + ":");
  if (key == "container") return e.type == "container" && names(e, value);
  if (key == "volume") return e.type == "volume" && names(e, value);
  if (key == "network") return e.type == "network" && names(e, value);
  if (key == "image") {
    std::string image = e.type == "container" ? attribute(e, "image") : attribute(e, "name");
    auto bare = [](const std::string& s) { return s.ends_with(":latest") ? s.substr(0, s.size() - 7) : s; };
    return (e.type == "image" && names(e, value)) || (!image.empty() && bare(image) == bare(value));
  }
  if (key == "label") {
    size_t eq = value.find('=');
    auto it = e.attributes.find(value.substr(0, eq));
    return it != e.attributes.end() && (eq == std::string::npos || it->second == value.substr(eq + 1));
  }
  return false;
}

}  // namespace

bool EventFilter::matches(const Event& e) const {
  // Per key: any of its values; all keys.
  std::map<std::string, bool> by_key;
  for (const auto& [k, v] : pairs_) by_key[k] = by_key[k] || holds(e, k, v);
  return std::all_of(by_key.begin(), by_key.end(), [](const auto& kv) { return kv.second; });
}

Result<void> stream_events(const EventLog& log, const EventFilter& filter, std::optional<int64_t> since, std::optional<int64_t> until,
    const std::function<bool(const Event&)>& emit, const std::function<bool()>& keep_going) {
  int64_t now = unix_nanos();
  // Following starts before the past is read, so nothing falls between the two.
  std::optional<EventLog::Follower> follower;
  if (!until || *until > now) follower = TRY(log.follow());
  int64_t last = std::numeric_limits<int64_t>::min();
  if (since || until) {
    for (const auto& e : TRY(log.read(since.value_or(0), until ? std::min(*until, now) : now))) {
      if (filter.matches(e) && !emit(e)) return {};
      last = std::max(last, e.time_nano);
    }
  }
  while (follower) {
    for (const auto& e : TRY(follower->poll())) {
      if (until && e.time_nano > *until) return {};
      if (e.time_nano > last && filter.matches(e) && !emit(e)) return {};  // (read with the past already)
    }
    if ((until && unix_nanos() > *until) || !keep_going()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return {};
}

Result<int64_t> parse_event_time(const std::string& text) {
  std::string_view s = text;
  size_t dot = s.find('.');
  auto secs = parse_int<int64_t>(s.substr(0, dot));
  if (!secs || *secs < 0 || *secs > 10'000'000'000) return fail(Errc::invalid_input, "invalid time '" + text + "': unix seconds expected");
  int64_t nanos = 0;
  if (dot != std::string_view::npos) {
    std::string frac(s.substr(dot + 1));
    if (frac.empty() || frac.size() > 9 || frac.find_first_not_of("0123456789") != std::string::npos)
      return fail(Errc::invalid_input, "invalid time '" + text + "'");
    frac.resize(9, '0');
    nanos = *parse_int<int64_t>(frac);
  }
  return *secs * 1'000'000'000 + nanos;
}

}  // namespace tiffin::api
