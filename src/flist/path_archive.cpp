#include "flist/path_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "common/fd.hpp"
#include "common/remove_tree.hpp"

namespace tiffin {

namespace {

// "/a/b/" → {"a", "b"}; ".." and "." components are left to the caller to refuse or resolve.
std::pair<std::string, std::string> split_parent(const std::string& path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.ends_with("/")) p.pop_back();
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {".", p};
  return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

Result<std::string> read_link_at(int dir, const std::string& name) {
  std::string target(4096, '\0');
  ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
  if (n < 0) return fail_errno("readlink " + name);
  target.resize(static_cast<size_t>(n));
  return target;
}

// An entry and its parent directory, opened in the root.
struct Located {
  UniqueFd parent;
  std::string name;  // "" for the root itself
};

Result<Located> locate(const std::string& root, const std::string& path) {
  if (!path.starts_with("/")) return fail(Errc::invalid_input, "path '" + path + "' is not absolute");
  auto [dir, base] = split_parent(path);
  if (base.empty() || base == "/" || path == "/") return Located{TRY(open_in_root(root, ".", O_PATH | O_DIRECTORY)), ""};
  return Located{TRY(open_in_root(root, dir, O_PATH | O_DIRECTORY)), base};
}

Result<struct stat> stat_at(const Located& l) {
  struct stat st {};
  if (::fstatat(l.parent.get(), l.name.empty() ? "" : l.name.c_str(), &st, AT_SYMLINK_NOFOLLOW | (l.name.empty() ? AT_EMPTY_PATH : 0)) != 0)
    return fail_errno("stat " + l.name);
  return st;
}

constexpr int kMaxDepth = 512;

class TreeArchiver {
 public:
  explicit TreeArchiver(TarWriter& tar) : tar_(tar) {}

  // `name` in `dir`, stored as `stored`, `depth` directories down.
  Result<void> add(int dir, const std::string& name, const std::string& stored, int depth = 0) {
    // Each level holds a descriptor: a tree made deep on purpose must not exhaust them.
    if (depth > kMaxDepth) return fail(Errc::invalid_input, stored + ": deeper than " + std::to_string(kMaxDepth) + " directories");
    struct stat st {};
    const char* at = name.empty() ? "" : name.c_str();
    if (::fstatat(dir, at, &st, AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0)) != 0) return fail_errno("stat " + stored);
    if (S_ISSOCK(st.st_mode)) return {};  // tar has no sockets; docker leaves them out too
    auto e = new_archive_entry();
    archive_entry_set_pathname(e.get(), S_ISDIR(st.st_mode) ? (stored + "/").c_str() : stored.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      auto [it, fresh] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), stored);
      if (!fresh) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        return tar_.header(e.get(), stored);
      }
    }
    if (S_ISLNK(st.st_mode)) archive_entry_set_symlink(e.get(), TRY(read_link_at(dir, name)).c_str());
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
      archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
    }
    if (S_ISREG(st.st_mode)) {
      // Non-blocking, and checked again once open: an entry swapped for a fifo meanwhile must
      // not hang the copy.
      // By O_PATH first, checked to be the file stat saw, then opened through it: a running
      // container that swaps the name for a device node meanwhile never gets it opened.
      UniqueFd path_fd(::openat(dir, name.empty() ? "." : at, O_PATH | O_NOFOLLOW | O_CLOEXEC));
      struct stat opened {};
      if (!path_fd || ::fstat(path_fd.get(), &opened) != 0) return fail_errno("opening " + stored);
      if (!S_ISREG(opened.st_mode) || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino)
        return fail(Errc::conflict, stored + " changed while it was archived");
      UniqueFd fd(::open(("/proc/self/fd/" + std::to_string(path_fd.get())).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
      if (!fd) return fail_errno("opening " + stored);
      archive_entry_set_size(e.get(), st.st_size);
      TRY(tar_.header(e.get(), stored));
      std::vector<uint8_t> buf(1 << 16);
      for (int64_t left = st.st_size; left > 0;) {
        size_t n = TRY(read_full(fd.get(), buf));
        if (n == 0) return fail(Errc::io, stored + " shrank while it was archived");
        n = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(n)));
        TRY(tar_.data({buf.data(), n}, stored));
        left -= static_cast<int64_t>(n);
      }
      return {};
    }
    TRY(tar_.header(e.get(), stored));
    if (!S_ISDIR(st.st_mode)) return {};
    UniqueFd sub(::openat(dir, name.empty() ? "." : at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return fail_errno("opening " + stored);
    std::vector<std::string> names;
    {
      DIR* d = ::fdopendir(::dup(sub.get()));
      if (!d) return fail_errno("reading " + stored);
      while (dirent* de = ::readdir(d))
        if (std::string_view(de->d_name) != "." && std::string_view(de->d_name) != "..") names.emplace_back(de->d_name);
      ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) TRY(add(sub.get(), n, stored + "/" + n, depth + 1));
    return {};
  }

 private:
  TarWriter& tar_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

// An archive entry's name as a relative path without "." components; ".." and absolute ones
// are refused.
Result<std::string> clean_entry_name(const char* raw) {
  if (!raw) return fail(Errc::invalid_input, "an archive entry without a name");
  std::string name = raw;
  while (name.starts_with("./")) name.erase(0, 2);
  if (name.starts_with("/")) return fail(Errc::invalid_input, "archive entry '" + std::string(raw) + "' has an absolute name");
  std::string out;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    std::string part = name.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (part == "..") return fail(Errc::invalid_input, "archive entry '" + std::string(raw) + "' leads out with '..'");
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return out;
}

std::string rebase(const std::string& name, const ExtractOptions& opts) {
  const std::string& from = opts.rebase_from;
  if (from == "." || from == "/") return name.empty() ? opts.rebase_to : opts.rebase_to.empty() ? name : opts.rebase_to + "/" + name;
  if (from.empty() || (name != from && !name.starts_with(from + "/"))) return name;
  return opts.rebase_to + name.substr(from.size());
}

// libarchive's message for the last error; it has none for some (a truncated stream).
std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "malformed archive";
}

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Removes what is at `name` in `dir` so that an entry can take its place.
Result<void> make_room(int dir, const std::string& name, bool entry_is_dir, const ExtractOptions& opts) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  bool existing_dir = S_ISDIR(st.st_mode);
  if (existing_dir && entry_is_dir) return {};
  if (opts.no_overwrite_dir_non_dir && existing_dir != entry_is_dir)
    return fail(Errc::invalid_input, "cannot overwrite " + std::string(existing_dir ? "directory" : "non-directory") + " \"" + name +
                                         "\" with " + (existing_dir ? "non-directory" : "directory"));
  // docker replaces a directory by a file with everything under it (without following links);
  // never a mount point (a volume, a host directory bound in) and what is in it.
  if (existing_dir) {
    struct statx sx {};
    if (::statx(dir, name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) != 0) return fail_errno("stat " + name);
    if (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) return fail(Errc::conflict, "cannot replace the mount point " + name + " with a file");
    return remove_tree("/proc/self/fd/" + std::to_string(dir) + "/" + name);
  }
  if (::unlinkat(dir, name.c_str(), 0) != 0) return fail_errno("replacing " + name);
  return {};
}

// Directories get their times once everything is in them (a child made later would reset them).
struct DirTime {
  std::string rel;
  timespec time;
};

Result<void> set_metadata(int dir, const std::string& name, archive_entry* e, const ExtractOptions& opts, bool is_link,
    std::vector<DirTime>* dir_times = nullptr, const std::string& rel = {}) {
  uid_t uid = opts.keep_owners ? static_cast<uid_t>(archive_entry_uid(e)) : 0;
  gid_t gid = opts.keep_owners ? static_cast<gid_t>(archive_entry_gid(e)) : 0;
  if (::fchownat(dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("chown " + name);
  if (!is_link) {
    // Through a descriptor of the entry itself: a running container that swapped it for a
    // symlink meanwhile must not have the chmod land where the link points.
    UniqueFd entry(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!entry || ::fstat(entry.get(), &st) != 0) return fail_errno("opening " + name);
    if (S_ISLNK(st.st_mode)) return fail(Errc::conflict, name + " changed while it was unpacked");
    std::string self = "/proc/self/fd/" + std::to_string(entry.get());
    if (::chmod(self.c_str(), archive_entry_perm(e) | (archive_entry_mode(e) & 07000)) != 0) return fail_errno("chmod " + name);
  }
  timespec mtime{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  if (dir_times) {
    dir_times->push_back({rel, mtime});
    return {};
  }
  timespec times[2] = {mtime, mtime};
  if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("setting the times of " + name);
  return {};
}

Result<void> extract_entry(const std::string& root, const std::string& dir, archive* a, archive_entry* e, const ExtractOptions& opts,
    std::vector<DirTime>& dir_times) {
  std::string rel = rebase(TRY(clean_entry_name(archive_entry_pathname(e))), opts);
  if (rel.empty()) return {};  // "./": the destination itself
  auto [parent_rel, base] = split_parent(rel);
  std::string parent_path = dir + "/" + (parent_rel == "." ? "" : parent_rel);
  // Parents a sloppy archive did not list are made.
  auto parent = open_in_root(root, parent_path, O_PATH | O_DIRECTORY);
  if (!parent && parent.error().sys_errno == ENOENT) {
    std::string walked = dir;
    for (const auto& part : std::filesystem::path(parent_rel)) {
      UniqueFd at = TRY(open_in_root(root, walked, O_PATH | O_DIRECTORY));
      if (::mkdirat(at.get(), part.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("making " + walked + "/" + part.string());
      walked += "/" + part.string();
    }
    parent = open_in_root(root, parent_path, O_PATH | O_DIRECTORY);
  }
  if (!parent) return std::unexpected(parent.error());
  int pfd = parent->get();
  mode_t type = archive_entry_filetype(e);
  if (const char* link = archive_entry_hardlink(e)) {
    std::string target = rebase(TRY(clean_entry_name(link)), opts);
    UniqueFd from = TRY(open_in_root(root, dir + "/" + target, O_PATH | O_NOFOLLOW));
    TRY(make_room(pfd, base, false, opts));
    if (::linkat(from.get(), "", pfd, base.c_str(), AT_EMPTY_PATH) != 0) return fail_errno("linking " + rel);
    return {};
  }
  bool is_dir = type == AE_IFDIR;
  TRY(make_room(pfd, base, is_dir, opts));
  switch (type) {
    case AE_IFDIR:
      if (::mkdirat(pfd, base.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + rel);
      break;
    case AE_IFREG: {
      UniqueFd out(::openat(pfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out) return fail_errno("creating " + rel);
      const void* buf;
      size_t size;
      la_int64_t offset;
      for (;;) {
        int r = archive_read_data_block(a, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return fail(Errc::invalid_input, "reading " + rel + " from the archive: " + archive_message(a));
        // Bounded archives: never past the size the header claimed (a sparse map that says otherwise).
        if (opts.max_bytes && (offset < 0 || static_cast<uint64_t>(offset) + size > static_cast<uint64_t>(archive_entry_size(e))))
          return fail(Errc::invalid_input, "archive entry " + rel + " writes past its size");
        TRY(pwrite_all(out.get(), {static_cast<const uint8_t*>(buf), size}, offset));
      }
      break;
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target || ::symlinkat(target, pfd, base.c_str()) != 0) return fail_errno("making the symlink " + rel);
      return set_metadata(pfd, base, e, opts, true);
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      if (::mknodat(pfd, base.c_str(), type | 0600, makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e))) != 0)
        return fail_errno("making " + rel);
      break;
    default: return fail(Errc::invalid_input, "archive entry " + rel + " has a type docker cp does not carry");
  }
  return set_metadata(pfd, base, e, opts, false, type == AE_IFDIR ? &dir_times : nullptr, rel);
}

}  // namespace

Result<PathStat> stat_in_root(const std::string& root, const std::string& path) {
  Located l = TRY(locate(root, path));
  struct stat st = TRY(stat_at(l));
  PathStat s{l.name.empty() ? "/" : l.name, st.st_size, st.st_mode, st.st_mtim.tv_sec, {}};
  if (S_ISLNK(st.st_mode)) s.link_target = TRY(read_link_at(l.parent.get(), l.name));
  return s;
}

Result<void> archive_in_root(const std::string& root, const std::string& path, const ByteSink& sink, const std::string& name) {
  Located l = TRY(locate(root, path));
  TRY(stat_at(l));  // a missing path is an error before any byte goes out
  TarWriter tar(sink);
  TRY(tar.open());
  TreeArchiver archiver(tar);
  // The root itself is archived as "." 's entries would be: under its own name, "/" → ".".
  TRY(archiver.add(l.parent.get(), l.name, !name.empty() ? name : l.name.empty() ? "." : l.name));
  return tar.close();
}

namespace {

Result<void> extract_archive(
    const std::string& root, const std::string& dir, const std::function<int(archive*)>& open, const ExtractOptions& opts) {
  Located l = TRY(locate(root, dir));
  struct stat st = TRY(stat_at(l));
  if (!S_ISDIR(st.st_mode)) return fail(Errc::invalid_input, "extraction point " + dir + " is not a directory");
  std::unique_ptr<archive, ArchiveReadFree> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_filter_all(a.get());
  if (open(a.get()) != ARCHIVE_OK) return fail(Errc::invalid_input, "not a tar archive: " + archive_message(a.get()));
  std::vector<DirTime> dir_times;
  uint64_t bytes = 0, entries = 0;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(Errc::invalid_input, "reading the archive: " + archive_message(a.get()));
    if (opts.max_entries && ++entries > opts.max_entries)
      return fail(Errc::invalid_input, "the archive has more than " + std::to_string(opts.max_entries) + " entries");
    mode_t type = archive_entry_filetype(e);
    if (opts.refuse_special_files && !archive_entry_hardlink(e) && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO))
      return fail(Errc::invalid_input,
          "archive entry '" + std::string(archive_entry_pathname(e) ? archive_entry_pathname(e) : "") + "' is a device node or a fifo");
    if (type == AE_IFREG && archive_entry_size_is_set(e)) {
      // The size the header claims; what is written is bounded by it (libarchive stops there).
      int64_t size = archive_entry_size(e);
      bytes += size > 0 ? static_cast<uint64_t>(size) : 0;
      if (opts.max_bytes && bytes > opts.max_bytes)
        return fail(Errc::invalid_input, "the archive unpacks to more than " + std::to_string(opts.max_bytes) + " bytes");
    }
    TRY(extract_entry(root, dir, a.get(), e, opts, dir_times));
  }
  // Deepest first; each directory reached in the root again (a running container may have
  // moved things meanwhile: its own business, never a reason to touch anything outside).
  for (auto it = dir_times.rbegin(); it != dir_times.rend(); ++it) {
    auto [parent_rel, base] = split_parent(it->rel);
    auto parent = open_in_root(root, dir + "/" + (parent_rel == "." ? "" : parent_rel), O_PATH | O_DIRECTORY);
    timespec times[2] = {it->time, it->time};
    if (parent) (void)::utimensat(parent->get(), base.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }
  return {};
}

}  // namespace

Result<void> extract_in_root(const std::string& root, const std::string& dir, std::string_view tar, const ExtractOptions& opts) {
  return extract_archive(
      root, dir, [&](archive* a) { return archive_read_open_memory(a, tar.data(), tar.size()); }, opts);
}

Result<void> extract_in_root_fd(const std::string& root, const std::string& dir, int fd, const ExtractOptions& opts) {
  return extract_archive(
      root, dir, [&](archive* a) { return archive_read_open_fd(a, fd, 1 << 16); }, opts);
}

}  // namespace tiffin
