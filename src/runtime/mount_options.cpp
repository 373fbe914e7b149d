#include "runtime/mount_options.hpp"

#include <sys/mount.h>

#include <map>

namespace tiffin::runtime {
namespace {

struct FlagWord {
  bool clear;  // the word turns the flag off
  unsigned long flag;
};

const std::map<std::string, FlagWord, std::less<>>& flag_words() {
  static const std::map<std::string, FlagWord, std::less<>> words = {
      {"ro", {false, MS_RDONLY}},
      {"rw", {true, MS_RDONLY}},
      {"nosuid", {false, MS_NOSUID}},
      {"suid", {true, MS_NOSUID}},
      {"nodev", {false, MS_NODEV}},
      {"dev", {true, MS_NODEV}},
      {"noexec", {false, MS_NOEXEC}},
      {"exec", {true, MS_NOEXEC}},
      {"sync", {false, MS_SYNCHRONOUS}},
      {"async", {true, MS_SYNCHRONOUS}},
      {"dirsync", {false, MS_DIRSYNC}},
      {"remount", {false, MS_REMOUNT}},
      {"mand", {false, MS_MANDLOCK}},
      {"nomand", {true, MS_MANDLOCK}},
      {"noatime", {false, MS_NOATIME}},
      {"atime", {true, MS_NOATIME}},
      {"nodiratime", {false, MS_NODIRATIME}},
      {"diratime", {true, MS_NODIRATIME}},
      {"relatime", {false, MS_RELATIME}},
      {"norelatime", {true, MS_RELATIME}},
      {"strictatime", {false, MS_STRICTATIME}},
      {"nostrictatime", {true, MS_STRICTATIME}},
      {"lazytime", {false, MS_LAZYTIME}},
      {"nolazytime", {true, MS_LAZYTIME}},
      {"bind", {false, MS_BIND}},
      {"rbind", {false, MS_BIND | MS_REC}},
  };
  return words;
}

}  // namespace

bool MountOptions::is_bind() const { return flags & MS_BIND; }

unsigned long propagation_flags(const std::string& mode) {
  unsigned long rec = mode.starts_with('r') ? MS_REC : 0;
  std::string base = rec ? mode.substr(1) : mode;
  if (base == "private") return MS_PRIVATE | rec;
  if (base == "shared") return MS_SHARED | rec;
  if (base == "slave") return MS_SLAVE | rec;
  if (base == "unbindable") return MS_UNBINDABLE | rec;
  return 0;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& o : options) {
    if (o.empty()) return fail(Errc::invalid_input, "empty mount option");
    if (auto it = flag_words().find(o); it != flag_words().end()) {
      if (it->second.clear) {
        out.flags &= ~it->second.flag;
        out.clear_flags |= it->second.flag;
      } else {
        out.flags |= it->second.flag;
        out.clear_flags &= ~it->second.flag;
      }
    } else if (unsigned long p = propagation_flags(o)) {
      out.propagation = p;
    } else if (o == "tmpcopyup" || o == "idmap" || o == "ridmap" || o.starts_with("x-")) {
      // Hints for other runtimes and mount helpers; nothing for mount(2).
    } else {
      if (!out.data.empty()) out.data += ',';
      out.data += o;
    }
  }
  return out;
}

}  // namespace tiffin::runtime
