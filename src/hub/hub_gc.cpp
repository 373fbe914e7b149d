#include "hub/hub_gc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "common/fd.hpp"
#include "common/hex.hpp"
#include "flist/flist_profile.hpp"
#include "hub/gc_lock.hpp"
#include "image/digest.hpp"

namespace tiffin::hub {
namespace {

namespace gcfs = std::filesystem;

// Ids are uniformly random: their first bytes are as good a hash as any.
struct IdHasher {
  size_t operator()(const Hash& h) const {
    size_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};
using IdSet = std::unordered_set<Hash, IdHasher>;

// Files left by uploads, block writes and layer saves are written to until they are renamed
// into place, so their mtime is their last sign of life. Whatever the grace period, one that
// moved within this long may belong to a request still running (deleting it would fail that
// request, not just cost a re-upload), so it stays.
constexpr int64_t kTempFloorSeconds = 15 * 60;

// Candidates deleted per hold of the exclusive lock.
constexpr size_t kSweepSlice = 1024;

int64_t mtime_ns(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec; }

int64_t now_ns() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// An flist file as it was seen: a file replaced by rename is a new inode, so a key that was
// read once need not be read again.
using FileKey = std::tuple<uint64_t, uint64_t, int64_t, int64_t>;
FileKey key_of(const struct stat& st) { return {st.st_dev, st.st_ino, mtime_ns(st), st.st_size}; }

struct FlistFile {
  std::string path;
  FileKey key;
  bool published = false;  // under flists/ (its sha256 keys a profile), not a layer chain
};

std::vector<std::string> sorted_names(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : gcfs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Every flist whose blocks must stay: on a hub the regular .fl files of every user (a link's
// target is one of them) and the layer chains conversions reuse; on a node kNodeFlistDirs.
Result<std::vector<FlistFile>> list_flists(const std::string& root, GcOptions::Layout layout) {
  std::vector<FlistFile> out;
  auto add = [&](const std::string& path, bool published) -> Result<void> {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return {};  // removed meanwhile: its blocks are free to go
      return fail_errno("lstat " + path);
    }
    if (S_ISREG(st.st_mode)) out.push_back({path, key_of(st), published});
    return {};
  };
  if (layout == GcOptions::Layout::node) {
    for (const char* dir : kNodeFlistDirs)
      for (const std::string& name : sorted_names(root + "/" + dir))
        if (name.ends_with(".fl")) TRY(add(root + "/" + dir + "/" + name, false));
    return out;
  }
  for (const std::string& user : sorted_names(root + "/flists")) {
    std::string dir = root + "/flists/" + user;
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    for (const std::string& name : sorted_names(dir))
      if (name.ends_with(".fl")) TRY(add(dir + "/" + name, true));
  }
  for (const std::string& name : sorted_names(root + "/layers"))
    if (name.ends_with(".fl")) TRY(add(root + "/layers/" + name, false));
  return out;
}

std::string file_sha256(int fd) {
  image::Sha256 sha;
  Bytes buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sha.update({buf.data(), size_t(n)});
  }
  std::string d = sha.digest();
  return d.substr(d.find(':') + 1);
}

// Adds the block ids `path` names to `marked`, straight from its block table (rfs's and
// tiffin's flists alike): no tree is built. false: the file is gone (removed since listed).
// Anything unreadable is an error: its blocks cannot be told apart from garbage.
Result<bool> mark_flist(const std::string& path, IdSet& marked) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return false;
  auto r = for_each_block_id(path, [&](const Hash& h) { marked.insert(h); });
  if (!r) {
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return false;
    return fail(r.error().kind,
        "cannot read the blocks of flist " + path + " (nothing was freed; repair or remove that file): " + r.error().message);
  }
  return true;
}

struct Marker {
  IdSet marked;
  std::set<FileKey> seen;
  std::unordered_set<std::string> sha256s;  // of the published flist files
  bool want_sha256 = false;
  uint64_t scanned = 0;

  // Reads every listed file not read before.
  Result<void> mark(const std::string& root, GcOptions::Layout layout) {
    for (const FlistFile& f : TRY(list_flists(root, layout))) {
      if (seen.contains(f.key)) continue;
      if (!TRY(mark_flist(f.path, marked))) continue;
      seen.insert(f.key);
      ++scanned;
      if (want_sha256 && f.published) {
        UniqueFd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd) sha256s.insert(file_sha256(fd.get()));
      }
    }
    return {};
  }
};

struct BlockCandidate {
  std::string rel;  // "<hex[0:2]>/<hex>" under blocks/
  Hash id;
};

}  // namespace

Result<GcReport> collect_garbage(const std::string& root, const GcOptions& opts) {
  auto started = std::chrono::steady_clock::now();
  // One cutoff for the whole pass, taken before anything is read: a block touched after it (a
  // push asking `missing` while this runs) is young even with a grace of 0.
  const int64_t start = now_ns();
  const int64_t cutoff = start - int64_t(opts.grace.count()) * 1'000'000'000;
  const int64_t temp_cutoff = start - std::max<int64_t>(opts.grace.count(), kTempFloorSeconds) * 1'000'000'000;
  GcReport report;

  struct stat root_st;
  if (::stat((root + "/blocks").c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode))
    return fail(Errc::not_found, root + " has no blocks/ directory");

  Marker marker;
  marker.want_sha256 = opts.layout == GcOptions::Layout::hub && ::access((root + "/profiles").c_str(), F_OK) == 0;
  TRY(marker.mark(root, opts.layout));

  // Candidates: unmarked blocks already old. Collected before the lock, so the lock is held
  // only for what must not interleave with installs (the re-scan and the unlinks).
  std::string blocks_dir = root + "/blocks";
  UniqueFd blocks_fd(::open(blocks_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!blocks_fd) return fail_errno("open " + blocks_dir);
  std::vector<BlockCandidate> candidates;
  std::vector<std::string> stale_temps;
  for (const std::string& prefix : sorted_names(blocks_dir)) {
    if (prefix.size() != 2 || !std::isxdigit(static_cast<unsigned char>(prefix[0])) ||
        !std::isxdigit(static_cast<unsigned char>(prefix[1])))
      continue;
    UniqueFd dir(::openat(blocks_fd.get(), prefix.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) continue;
    DIR* d = ::fdopendir(::dup(dir.get()));
    if (!d) return fail_errno("opendir " + blocks_dir + "/" + prefix);
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (name.starts_with(".tmp.")) {  // a block write a crash cut short
        if (::fstatat(dir.get(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && mtime_ns(st) < temp_cutoff)
          stale_temps.push_back(blocks_dir + "/" + prefix + "/" + std::string(name));
        continue;
      }
      auto id = name.size() == 64 ? hash_from_hex(name) : std::nullopt;
      if (!id) continue;  // not a block; not ours to judge
      ++report.blocks_scanned;
      if (marker.marked.contains(*id)) continue;
      if (::fstatat(dir.get(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
      if (mtime_ns(st) >= cutoff) {
        ++report.blocks_young;
        continue;
      }
      candidates.push_back({prefix + "/" + std::string(name), *id});
    }
    ::closedir(d);
  }

  // The sweep, in slices of kSweepSlice candidates, each under the exclusive lock (gc_lock.hpp):
  // an install waits for one slice at most (an unlink costs ~0.1 ms on ext4, so ~0.1 s), not for
  // the whole sweep. Each slice first reads the flists installed since the last look —
  // published before the lock was taken, so on disk now. A dry run deletes nothing, so it
  // leaves installs alone.
  for (size_t from = 0; from < candidates.size(); from += kSweepSlice) {
    std::optional<GcLock> lock;
    if (!opts.dry_run) lock.emplace(TRY(GcLock::exclusive(root)));
    TRY(marker.mark(root, opts.layout));
    for (size_t i = from; i < std::min(candidates.size(), from + kSweepSlice); ++i) {
      const BlockCandidate& c = candidates[i];
      if (marker.marked.contains(c.id)) continue;
      // Again, right before it goes: `missing` may have answered for it since (a push about to
      // name it), which made it young.
      struct stat st;
      if (::fstatat(blocks_fd.get(), c.rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (mtime_ns(st) >= cutoff) {
        ++report.blocks_young;
        continue;
      }
      if (!opts.dry_run && ::unlinkat(blocks_fd.get(), c.rel.c_str(), 0) != 0) {
        if (errno == ENOENT) continue;
        return fail_errno("unlink " + blocks_dir + "/" + c.rel);
      }
      ++report.blocks_freed;
      report.bytes_freed += st.st_size;
    }
  }
  report.blocks_marked = marker.marked.size();
  report.flists_scanned = marker.scanned;

  // Uploads and layer saves that never finished.
  auto old_entry = [&](const std::string& path, int64_t before) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && mtime_ns(st) < before;
  };
  if (opts.layout == GcOptions::Layout::hub)  // a node's tmp/ is not only ours
    for (const std::string& name : sorted_names(root + "/tmp"))
      if (old_entry(root + "/tmp/" + name, temp_cutoff)) stale_temps.push_back(root + "/tmp/" + name);
  for (const std::string& name : sorted_names(root + "/layers"))
    if (name.ends_with(".tmp") && old_entry(root + "/layers/" + name, temp_cutoff)) stale_temps.push_back(root + "/layers/" + name);
  for (const std::string& path : stale_temps) {
    std::error_code ec;
    if (!opts.dry_run && gcfs::remove_all(path, ec) == 0) continue;
    ++report.temp_files_freed;
  }

  // Profiles of flist files that are no more (replaced or deleted): nothing can ask for them,
  // a profile is keyed by its file's sha256. A directory written to lately is left alone.
  if (marker.want_sha256) {
    for (const std::string& name : sorted_names(root + "/profiles")) {
      if (name.size() != 64 || marker.sha256s.contains(name)) continue;
      std::string path = root + "/profiles/" + name;
      if (!old_entry(path, temp_cutoff)) continue;
      std::error_code ec;
      if (!opts.dry_run && gcfs::remove_all(path, ec) == 0) continue;
      ++report.profiles_freed;
    }
  }

  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace tiffin::hub
