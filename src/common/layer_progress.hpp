// Progress of several transfers at once, a line each, as `docker pull` draws its layers:
//   3f4ca61aafcd: Already exists
//   a1b2c3d4e5f6: Downloading [=========>        ]  12.3 MiB / 40.0 MiB
//   77e8a9b0c1d2: Waiting
// Drawn only when stderr is a terminal (redrawn in place, at most ten times a second, and on
// every change of a line's state); nothing otherwise, so scripts and logs stay quiet.
// Thread-safe: downloads report from their own threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace tiffin {

class LayerProgress {
 public:
  // One line per name, each "Waiting" until told otherwise.
  LayerProgress(std::vector<std::string> names, bool enabled);
  ~LayerProgress();

  void state(size_t line, std::string text);               // "Downloading", "Pull complete" …: drawn at once
  void bytes(size_t line, uint64_t done, uint64_t total);  // a bar while the state is Downloading
  void finish();                                           // the last drawing

  // The text a line shows (for tests): "<name>: <state>[ bar]".
  std::string line_text(size_t line) const;

 private:
  struct Line {
    std::string name, state = "Waiting";
    uint64_t done = 0, total = 0;
  };
  void draw_locked(bool force);
  std::string text_locked(const Line& l) const;

  std::vector<Line> lines_;
  bool enabled_;
  bool drawn_ = false, finished_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
  mutable std::mutex mu_;
};

}  // namespace tiffin
