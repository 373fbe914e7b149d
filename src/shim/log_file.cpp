#include "shim/log_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace tiffin::shim {

namespace {

// The UTC calendar date of a count of days since 1970-01-01 (Howard Hinnant's days_from_civil,
// inverted): gmtime would drag the time-zone code into the static shim for a date in UTC.
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

}  // namespace

std::string log_timestamp() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  int64_t days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ", static_cast<long long>(y), m, d,
      static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60), ts.tv_nsec);
  return buf;
}

std::string format_log_record(const LogRecord& r) {
  std::string out;
  out.reserve(r.time.size() + r.stream.size() + r.content.size() + 6);
  out += r.time;
  out += ' ';
  out += r.stream;
  out += r.partial ? " P " : " F ";
  out += r.content;
  out += '\n';
  return out;
}

Result<LogRecord> parse_log_record(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  LogRecord r;
  size_t a = line.find(' ');
  size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
  if (b == std::string_view::npos || b + 2 > line.size() || (line[b + 1] != 'F' && line[b + 1] != 'P') ||
      (b + 2 < line.size() && line[b + 2] != ' '))
    return fail(Errc::corrupt, "not a log record: " + std::string(line.substr(0, 80)));
  r.time = line.substr(0, a);
  r.stream = line.substr(a + 1, b - a - 1);
  r.partial = line[b + 1] == 'P';
  if (b + 3 <= line.size()) r.content = line.substr(b + 3);
  return r;
}

Result<void> LogWriter::open() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) return fail_errno("opening log " + path_);
  struct stat st {};
  ::fstat(fd_.get(), &st);
  size_ = static_cast<uint64_t>(st.st_size);
  return {};
}

Result<void> LogWriter::rotate() {
  fd_.reset();
  if (max_files_ <= 1) {
    ::unlink(path_.c_str());
  } else {
    for (unsigned i = max_files_ - 1; i >= 1; --i) {
      std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
      ::rename(from.c_str(), (path_ + "." + std::to_string(i)).c_str());  // absent ones are fine
    }
  }
  return open();
}

Result<void> LogWriter::write(const LogRecord& r) {
  if (!fd_) TRY(open());
  std::string line = format_log_record(r);
  if (max_bytes_ && size_ > 0 && size_ + line.size() > max_bytes_) TRY(rotate());
  const char* p = line.data();
  size_t left = line.size();
  while (left) {
    ssize_t n = ::write(fd_.get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("writing log " + path_);
    p += n;
    left -= static_cast<size_t>(n);
  }
  size_ += line.size();
  return {};
}

void LineSplitter::feed(std::string_view data, const Sink& sink) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      pending_.append(data);
      data = {};
    } else {
      pending_.append(data.substr(0, nl));
      data.remove_prefix(nl + 1);
      sink(pending_, false);
      pending_.clear();
    }
    while (pending_.size() >= kMaxLine) {
      sink(std::string_view(pending_).substr(0, kMaxLine), true);
      pending_.erase(0, kMaxLine);
    }
  }
}

void LineSplitter::finish(const Sink& sink) {
  if (!pending_.empty()) sink(pending_, true);
  pending_.clear();
}

std::vector<std::string> log_files(const std::string& path, unsigned max_files) {
  std::vector<std::string> out;
  for (unsigned i = max_files ? max_files - 1 : 0; i >= 1; --i) {
    std::string p = path + "." + std::to_string(i);
    if (::access(p.c_str(), F_OK) == 0) out.push_back(p);
  }
  if (::access(path.c_str(), F_OK) == 0) out.push_back(path);
  return out;
}

}  // namespace tiffin::shim
