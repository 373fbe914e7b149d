// containerd's filter expressions over snapshots (containerd/filters), as List requests carry
// them: `name==x`, `parent=="sha256:…"`, `kind==committed`, `labels."containerd.io/snapshot.ref"`,
// `labels.a!=b`, `name~=^extract` — selectors joined by ',' all hold (AND); a selector with no
// operator asks that the field be present. containerd itself sends
// `labels."containerd.io/snapshot.ref"==<chain id>,parent==<quoted parent>` when it looks for the
// snapshot a remote snapshotter made.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "common/error.hpp"
#include "snapshotter/snapshot_store.hpp"

namespace tiffin::snapshotter {

struct Selector {
  std::vector<std::string> path;  // {"labels", "containerd.io/snapshot.ref"}, {"parent"}
  enum class Op { present, equal, not_equal, matches } op = Op::present;
  std::string value;
  // `value` compiled once, for matches. RE2 is the syntax containerd uses (Go's regexp), and it
  // matches in linear time: a List request cannot make the snapshotter backtrack for ever.
  std::shared_ptr<const re2::RE2> pattern;
};

struct SnapshotFilter {
  std::vector<Selector> all_of;
  bool matches(const Snapshot& s) const;
};

// Errc::invalid_input names the column of what could not be parsed.
Result<SnapshotFilter> parse_snapshot_filter(const std::string& text);

// Any of `filters` (each an AND of selectors); no filters: everything.
Result<std::vector<SnapshotFilter>> parse_snapshot_filters(const std::vector<std::string>& filters);
bool matches_any(const std::vector<SnapshotFilter>& filters, const Snapshot& s);

}  // namespace tiffin::snapshotter
