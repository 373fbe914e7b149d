#include "common/progress.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

namespace tiffin {

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

bool Progress::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, uint64_t total_bytes, bool enabled)
    : label_(std::move(label)),
      total_(total_bytes),
      enabled_(enabled && stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::add(uint64_t bytes, uint64_t items) {
  bytes_ += bytes;
  items_ += items;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(draw_mu_, std::try_to_lock);
  if (!lock || now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void Progress::finish() {
  if (!enabled_) return;
  std::lock_guard lock(draw_mu_);
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  uint64_t b = bytes_;
  std::string rate = secs > 0 ? human_bytes(static_cast<uint64_t>(b / secs)) + "/s" : "";
  std::string line;
  if (total_ > 0) {
    int width = 30;
    int filled = static_cast<int>(width * std::min(1.0, double(b) / double(total_)));
    line = fmt::format("\r{} [{}{}] {} / {}  {} files  {}", label_, std::string(filled, '#'), std::string(width - filled, ' '),
        human_bytes(b), human_bytes(total_), items_.load(), rate);
  } else {
    line = fmt::format("\r{} {}  {} files  {}", label_, human_bytes(b), items_.load(), rate);
  }
  std::fprintf(stderr, "%s\033[K%s", line.c_str(), final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace tiffin
