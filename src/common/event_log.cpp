#include "common/event_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <limits>

namespace tiffin {

using json = nlohmann::json;

int64_t unix_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string encode_event(const Event& e) {
  json j{{"t", e.time_nano}, {"type", e.type}, {"action", e.action}, {"id", e.id}, {"attrs", e.attributes}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Event> decode_event(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("t") || !j["t"].is_number_integer() || !j.value("type", json()).is_string() ||
      !j.value("action", json()).is_string() || !j.value("id", json()).is_string())
    return fail(Errc::invalid_input, "not an event");
  Event e{j["type"].get<std::string>(), j["action"].get<std::string>(), j["id"].get<std::string>(), {}, j["t"].get<int64_t>()};
  if (j.contains("attrs")) {
    if (!j["attrs"].is_object()) return fail(Errc::invalid_input, "event attributes are not an object");
    for (const auto& [k, v] : j["attrs"].items())
      if (v.is_string()) e.attributes[k] = v.get<std::string>();
  }
  return e;
}

namespace {

UniqueFd open_append(const std::string& path) { return UniqueFd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)); }

// Renames a full log away; one writer at a time (the others find the lock taken and append).
void rotate_if_full(const std::string& path, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < EventLog::kMaxBytes) return;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return;
  struct stat now {};
  // Still the file the path names (nobody rotated it meanwhile)?
  if (::stat(path.c_str(), &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
    (void)::rename(path.c_str(), (path + ".1").c_str());
  ::flock(fd, LOCK_UN);
}

// Complete lines from `fd` (what follows the last newline stays in `partial`).
Result<std::vector<Event>> read_lines(int fd, std::string& partial, int64_t since, int64_t until) {
  std::vector<Event> out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading the event log");
    if (n == 0) break;
    partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      auto e = decode_event(std::string_view(partial).substr(start, nl - start));
      if (e && e->time_nano >= since && e->time_nano <= until) out.push_back(std::move(*e));
    }
    partial.erase(0, start);
  }
  return out;
}

}  // namespace

Result<void> EventLog::append(Event e) const {
  if (e.time_nano == 0) e.time_nano = unix_nanos();
  std::string line = encode_event(e) + "\n";
  UniqueFd fd = open_append(path_);
  if (!fd) return fail_errno("opening " + path_);
  rotate_if_full(path_, fd.get());
  if (auto w = write_all(fd.get(), {reinterpret_cast<const uint8_t*>(line.data()), line.size()}); !w)
    return std::unexpected(std::move(w).error().context("appending to " + path_));
  return {};
}

Result<std::vector<Event>> EventLog::read(int64_t since_nano, int64_t until_nano) const {
  std::vector<Event> all;
  for (const std::string& p : {path_ + ".1", path_}) {
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;
      return fail_errno("opening " + p);
    }
    std::string partial;
    auto got = TRY(read_lines(fd.get(), partial, since_nano, until_nano));
    all.insert(all.end(), std::make_move_iterator(got.begin()), std::make_move_iterator(got.end()));
  }
  return all;
}

Result<EventLog::Follower> EventLog::follow() const {
  Follower f;
  f.path_ = path_;
  // Made when missing, so that the follower has a file to watch.
  UniqueFd made = open_append(path_);
  if (!made) return fail_errno("opening " + path_);
  f.fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.fd_) return fail_errno("opening " + path_);
  struct stat st {};
  if (::fstat(f.fd_.get(), &st) != 0) return fail_errno("stat " + path_);
  f.inode_ = st.st_ino;
  if (::lseek(f.fd_.get(), 0, SEEK_END) < 0) return fail_errno("seeking in " + path_);
  return f;
}

Result<std::vector<Event>> EventLog::Follower::poll() {
  constexpr int64_t all = std::numeric_limits<int64_t>::max();
  auto out = TRY(read_lines(fd_.get(), partial_, std::numeric_limits<int64_t>::min(), all));
  struct stat st {};
  // Rotated: the rest of the old file was read above; the new one from its start.
  if (::stat(path_.c_str(), &st) == 0 && st.st_ino != inode_) {
    UniqueFd next(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (next) {
      auto rest = TRY(read_lines(fd_.get(), partial_, std::numeric_limits<int64_t>::min(), all));
      out.insert(out.end(), rest.begin(), rest.end());
      fd_ = std::move(next);
      inode_ = st.st_ino;
      partial_.clear();
      auto fresh = TRY(read_lines(fd_.get(), partial_, std::numeric_limits<int64_t>::min(), all));
      out.insert(out.end(), fresh.begin(), fresh.end());
    }
  }
  return out;
}

}  // namespace tiffin
