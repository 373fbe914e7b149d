// Prefetch profiles: the blocks a workload reads, in the order it first reads them. A mount
// records one (MountOptions::record_profile) and a later mount fetches its blocks in the
// background from the start (MountOptions::prefetch_profile), so a cold container finds most of
// what it needs in the node cache. File format: a "# tiffin prefetch profile v1" line, then one
// hex block id per line (the text form is flist/flist_profile.hpp's, which also embeds profiles in
// the flist itself).
#pragma once

#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "flist/flist_profile.hpp"

namespace tiffin {

class BlockRecorder {
 public:
  void note(const Hash& id);
  std::vector<Hash> order() const;
  Result<void> save(const std::string& path) const;

 private:
  struct HashOf {
    size_t operator()(const Hash& h) const {
      size_t v;
      std::memcpy(&v, h.data(), sizeof v);
      return v;
    }
  };
  mutable std::mutex mu_;
  std::unordered_set<Hash, HashOf> seen_;
  std::vector<Hash> order_;
};

Result<std::vector<Hash>> load_profile(const std::string& path);
// The v1 text of a profile: profile_text() in flist/flist_profile.hpp (included above).

}  // namespace tiffin
