#include "engine/container_logs.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <thread>

#include "common/text.hpp"
#include "engine/engine.hpp"

namespace tiffin::engine {

double log_record_time(const std::string& t) {
  std::tm tm{};
  const char* rest = ::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  // The fraction: ".123456789" up to the zone.
  std::string_view tail(rest);
  double frac =
      tail.starts_with('.') ? parse_decimal("0" + std::string(tail.substr(0, tail.find_first_not_of("0123456789", 1)))).value_or(0) : 0;
  return static_cast<double>(::timegm(&tm)) + frac;
}

Result<void> read_logs(Engine& e, const std::string& id, const LogOptions& o, const std::function<bool(const shim::LogRecord&)>& sink) {
  std::string path = e.log_path(id);
  auto wanted = [&](const shim::LogRecord& r) {
    if (!o.since && !o.until) return true;
    double t = log_record_time(r.time);
    return (!o.since || t >= o.since) && (!o.until || t <= o.until);
  };
  std::deque<shim::LogRecord> last;
  for (const auto& file : shim::log_files(path, 2)) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      auto r = shim::parse_log_record(line);
      if (!r || !wanted(*r)) continue;
      last.push_back(std::move(*r));
      if (last.size() > o.tail) last.pop_front();
    }
  }
  for (const auto& r : last)
    if (!sink(r)) return {};
  if (!o.follow) return {};
  // Follow the current file (reopened when it rotates) while the container lives.
  std::ifstream in(path);
  in.seekg(0, std::ios::end);
  struct stat before {};
  ::stat(path.c_str(), &before);
  std::string partial;
  auto emit = [&](const std::string& text) {
    auto r = shim::parse_log_record(text);
    return !r || !wanted(*r) || sink(*r);
  };
  for (;;) {
    std::string line;
    bool got = false;
    while (std::getline(in, line)) {
      if (in.eof()) {  // no newline yet: a record being written
        partial += line;
        break;
      }
      got = true;
      std::string whole = partial + line;
      partial.clear();
      if (!emit(whole)) return {};
    }
    in.clear();
    if (got) continue;
    auto info = e.inspect(id);
    if (!info || (!is_active(info->state.status) && !info->shim_alive)) {
      // One more pass for the last lines written before the exit.
      while (std::getline(in, line))
        if (!emit(partial + line)) return {};
      return {};
    }
    struct stat now {};
    if (::stat(path.c_str(), &now) == 0 && now.st_ino != before.st_ino) {
      in = std::ifstream(path);
      before = now;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace tiffin::engine
