#include "common/layer_progress.hpp"

#include <fmt/core.h>

#include <cstdio>

#include "common/progress.hpp"

namespace tiffin {

LayerProgress::LayerProgress(std::vector<std::string> names, bool enabled) : enabled_(enabled && Progress::stderr_is_terminal()) {
  for (auto& n : names) lines_.push_back({std::move(n)});
}

LayerProgress::~LayerProgress() { finish(); }

void LayerProgress::state(size_t line, std::string text) {
  std::lock_guard lock(mu_);
  if (line >= lines_.size()) return;
  lines_[line].state = std::move(text);
  draw_locked(true);
}

void LayerProgress::bytes(size_t line, uint64_t done, uint64_t total) {
  std::lock_guard lock(mu_);
  if (line >= lines_.size()) return;
  lines_[line].done = done;
  lines_[line].total = total;
  draw_locked(false);
}

void LayerProgress::finish() {
  std::lock_guard lock(mu_);
  if (finished_) return;
  draw_locked(true);
  finished_ = true;
}

std::string LayerProgress::line_text(size_t line) const {
  std::lock_guard lock(mu_);
  return line < lines_.size() ? text_locked(lines_[line]) : std::string();
}

std::string LayerProgress::text_locked(const Line& l) const {
  std::string out = l.name + ": " + l.state;
  if (l.state != "Downloading" || l.total == 0) return out;
  constexpr int width = 30;
  int filled = static_cast<int>(width * std::min(1.0, static_cast<double>(l.done) / static_cast<double>(l.total)));
  std::string bar = std::string(static_cast<size_t>(std::max(0, filled - 1)), '=') + (filled > 0 ? ">" : "") +
                    std::string(static_cast<size_t>(width - filled), ' ');
  return out + fmt::format(" [{}] {} / {}", bar, human_bytes(l.done), human_bytes(l.total));
}

void LayerProgress::draw_locked(bool force) {
  if (!enabled_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  std::string out;
  // Back to the first line of the previous drawing, then each line rewritten.
  if (drawn_ && !lines_.empty()) out += fmt::format("\033[{}A", lines_.size());
  for (const auto& l : lines_) out += "\r" + text_locked(l) + "\033[K\n";
  drawn_ = true;
  std::fputs(out.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace tiffin
