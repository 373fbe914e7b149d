// OCI mount options ("ro", "nosuid", "rbind", "rslave", "mode=755", …) split into what mount(2)
// takes: flags, propagation flags applied in a second call, and the filesystem's data string.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::runtime {

struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, …
  unsigned long clear_flags = 0;  // flags an option turned off ("rw", "suid", …), for remounts
  unsigned long propagation = 0;  // MS_PRIVATE / MS_SHARED / MS_SLAVE / MS_UNBINDABLE, maybe | MS_REC
  std::string data;               // "mode=755,size=65536k"

  bool is_bind() const;
};

// Unknown words that look like flags ("nosuchflag") are passed on as data, as runc does, so the
// filesystem itself decides; an empty option is an error.
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options);

// MS_* propagation flags for a rootfsPropagation value ("rslave" → MS_SLAVE | MS_REC).
unsigned long propagation_flags(const std::string& mode);

}  // namespace tiffin::runtime
