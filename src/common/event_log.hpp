// The node's event log (<root>/events.jsonl): what happened to containers, images, volumes and
// networks, as docker's `events` reports it. Every process that changes state appends to it —
// the CLI, `tiffin serve`, and the shims (a container's die, its health, an --rm container's
// destroy) — so the Engine API streams what the CLI did and the other way round.
//
// One JSON line an event, appended with one write(2) on an O_APPEND descriptor, so lines from
// concurrent writers never interleave. The file is bounded: an append that finds it over
// kMaxBytes renames it to events.jsonl.1 (the previous one goes), under an OFD lock so that only
// one writer rotates; readers read the old file before the new one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin {

struct Event {
  std::string type;                               // container, image, volume, network
  std::string action;                             // create, start, die, destroy, health_status: healthy, pull, tag, …
  std::string id;                                 // the actor: a container or image id, a volume or network name/id
  std::map<std::string, std::string> attributes;  // name, image, exitCode, labels, …
  int64_t time_nano = 0;                          // unix time in ns; append() sets it when 0

  bool operator==(const Event&) const = default;
};

std::string encode_event(const Event& e);
// Errc::invalid_input for a line that is not an event.
Result<Event> decode_event(std::string_view line);

class EventLog {
 public:
  static constexpr uint64_t kMaxBytes = 4 << 20;

  explicit EventLog(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  // Appends (making the file, mode 0600). Never loses an event to a concurrent rotation: the
  // line goes to whichever file the descriptor names, and readers read both.
  Result<void> append(Event e) const;

  // Events with since_nano <= time <= until_nano, oldest first (both files; unreadable lines
  // are skipped).
  Result<std::vector<Event>> read(int64_t since_nano, int64_t until_nano) const;

  // A reader that follows the log from its end as it is now: poll() gives what was appended
  // since the last call (across rotations).
  class Follower {
   public:
    Result<std::vector<Event>> poll();

   private:
    friend class EventLog;
    std::string path_;
    UniqueFd fd_;
    ino_t inode_ = 0;
    std::string partial_;
  };
  Result<Follower> follow() const;

 private:
  std::string path_;
};

// The current time in unix nanoseconds.
int64_t unix_nanos();

}  // namespace tiffin
