// Fuzzes the containerd filter expressions tiffin-snapshotter's List takes (src/snapshotter):
// any text parses or fails with invalid input, never crashes or hangs, and a parsed filter
// can be matched against a snapshot whose fields and labels come from the input too.
//
// Input: the filter up to the first NUL, then "name\nparent\nlabel-key\nlabel-value".
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "snapshotter/snapshot_filter.hpp"

using namespace tiffin;
using namespace tiffin::snapshotter;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto nul = in.find('\0');
  std::string text = in.substr(0, nul);
  Snapshot s{.name = "k8s.io/1/x", .parent = "sha256:p", .kind = Kind::committed, .labels = {{"containerd.io/snapshot.ref", "sha256:c"}}};
  if (nul != std::string::npos) {
    std::istringstream rest(in.substr(nul + 1));
    std::string key, value;
    std::getline(rest, s.name);
    std::getline(rest, s.parent);
    std::getline(rest, key);
    std::getline(rest, value);
    s.labels[key] = value;
  }
  auto f = parse_snapshot_filter(text);
  if (!f) {
    if (f.error().kind != Errc::invalid_input) std::abort();
    return 0;
  }
  if (f->all_of.empty()) std::abort();  // an empty filter is refused, never "matches all"
  (void)f->matches(s);
  return 0;
}
