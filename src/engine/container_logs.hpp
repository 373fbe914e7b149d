// Reading a container's local log (shim/log_file: CRI records, rotated files), for `tiffin logs`
// and the Engine API's GET /containers/{id}/logs alike: all of it or its tail, a time window,
// and with `follow` what comes until the container stopped for good.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "common/error.hpp"
#include "shim/log_file.hpp"

namespace tiffin::engine {

class Engine;

struct LogOptions {
  size_t tail = std::numeric_limits<size_t>::max();  // records from the end
  bool follow = false;
  double since = 0, until = 0;  // unix seconds; 0: no bound
};

// A CRI record's time as unix seconds (fractions kept); 0 when it is not one.
double log_record_time(const std::string& rfc3339);

// Hands each record to `sink`, oldest first; a sink that returns false ends the reading (the
// client went away), and so does `keep_going` returning false while following finds nothing
// new (a client that left a quiet container).
Result<void> read_logs(Engine& e, const std::string& id, const LogOptions& o, const std::function<bool(const shim::LogRecord&)>& sink,
    const std::function<bool()>& keep_going = {});

}  // namespace tiffin::engine
