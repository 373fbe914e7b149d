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

Result<void> read_logs(Engine& e, const std::string& id, const LogOptions& o, const std::function<bool(const shim::LogRecord&)>& sink,
    const std::function<bool()>& keep_going) {
  std::string path = e.log_path(id);
  auto wanted = [&](const shim::LogRecord& r) {
    if (!o.since && !o.until) return true;
    double t = log_record_time(r.time);
    return (!o.since || t >= o.since) && (!o.until || t <= o.until);
  };
  // The rotated files, then the current one — whose stream then goes on being followed, so
  // nothing written between reading and following is lost.
  std::deque<shim::LogRecord> last;
  auto collect = [&](std::istream& in) {
    std::string line;
    std::streampos good = in.tellg();
    while (std::getline(in, line)) {
      if (in.eof()) break;  // no newline yet: a record being written, read again when whole
      good = in.tellg();
      auto r = shim::parse_log_record(line);
      if (!r || !wanted(*r)) continue;
      last.push_back(std::move(*r));
      if (last.size() > o.tail) last.pop_front();
    }
    in.clear();
    in.seekg(good);
  };
  for (const auto& file : shim::log_files(path, 2)) {
    if (file == path) continue;
    std::ifstream rotated(file);
    collect(rotated);
  }
  std::ifstream in(path);
  struct stat before {};
  ::stat(path.c_str(), &before);
  collect(in);
  for (const auto& r : last)
    if (!sink(r)) return {};
  if (!o.follow) return {};
  auto emit = [&](const std::string& text) {
    auto r = shim::parse_log_record(text);
    return !r || !wanted(*r) || sink(*r);
  };
  std::string partial;
  // What the stream has now; false when the sink wants no more. A line without its newline
  // waits in `partial` for the rest (`whole`: the stream is done, take it as it is).
  auto drain = [&](bool whole, bool& got) {
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof() && !whole) {
        partial += line;
        break;
      }
      got = true;
      std::string record = partial + line;
      partial.clear();
      if (!emit(record)) return false;
    }
    in.clear();
    return true;
  };
  for (;;) {
    bool got = false;
    if (!drain(false, got)) return {};
    if (got) continue;
    // The file rotated (what is left of the old one first), or appeared.
    struct stat now {};
    if (::stat(path.c_str(), &now) == 0 && now.st_ino != before.st_ino) {
      if (!drain(true, got)) return {};
      partial.clear();
      in = std::ifstream(path);
      before = now;
      continue;
    }
    auto info = e.inspect(id);
    if (!info || (!is_active(info->state.status) && !info->shim_alive)) {
      (void)drain(true, got);  // the last lines written before the exit
      return {};
    }
    if (keep_going && !keep_going()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace tiffin::engine
