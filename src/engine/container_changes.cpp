// docker diff: a container's changes to its image's tree, read from its writable layer.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>

#include "common/fd.hpp"
#include "common/mountinfo.hpp"
#include "engine/engine.hpp"

namespace tiffin::engine {

namespace {

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

// Walks overlayfs's upper directory: a whiteout is a deletion, an entry the image has a
// change, any other an addition (docker diff's C, A, D).
Result<void> walk_upper(int upper, int lower, const std::string& prefix, std::vector<Change>& out, int depth = 0) {
  // Each level holds two descriptors: a tree made deep on purpose must not exhaust them.
  if (depth > 512) return fail(Errc::invalid_input, prefix + ": deeper than 512 directories");
  DIR* d = ::fdopendir(::dup(upper));
  if (!d) return fail_errno("reading the container's layer at " + prefix);
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d))
    if (std::string_view(de->d_name) != "." && std::string_view(de->d_name) != "..") names.emplace_back(de->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    struct stat st {
    }, below{};
    if (::fstatat(upper, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string path = prefix + "/" + n;
    if (is_whiteout(st)) {
      out.push_back({Change::Kind::deleted, path});
      continue;
    }
    bool in_image = lower >= 0 && ::fstatat(lower, n.c_str(), &below, AT_SYMLINK_NOFOLLOW) == 0;
    out.push_back({in_image ? Change::Kind::modified : Change::Kind::added, path});
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(::openat(upper, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) continue;
    // An opaque directory hides the image's: what is in it is new.
    char opaque = 0;
    bool hides =
        ::getxattr(("/proc/self/fd/" + std::to_string(sub.get())).c_str(), "trusted.overlay.opaque", &opaque, 1) == 1 && opaque == 'y';
    UniqueFd sub_lower;
    if (in_image && S_ISDIR(below.st_mode) && !hides)
      sub_lower.reset(::openat(lower, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    TRY(walk_upper(sub.get(), sub_lower ? sub_lower.get() : -1, path, out, depth + 1));
  }
  return {};
}

}  // namespace

Result<std::vector<Change>> Engine::changes(const std::string& ref) {
  ContainerInfo c = TRY(inspect(ref));
  // The upper layer is on the sized disk when there is one, mounted with the rootfs.
  TRY(mounted_rootfs(c));
  UniqueFd upper(::open((container_dir(c.id) + "/layer/rw/upper").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!upper) return fail_errno("opening the layer of container " + c.name);
  UniqueFd lower(::open((opts_.run_root + "/mounts/" + c.image_id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lower) return fail_errno("opening the image of container " + c.name);
  std::vector<Change> out;
  TRY(walk_upper(upper.get(), lower.get(), "", out));
  return out;
}

}  // namespace tiffin::engine
