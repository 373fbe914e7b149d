#include "flist/unpack.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <unordered_map>
#include <mutex>

#include "common/fd.hpp"
#include "common/parallel.hpp"
#include "common/progress.hpp"
#include "common/text.hpp"
#include "flist/content.hpp"
#include "flist/path.hpp"

namespace tiffin {
namespace {

// Opens `rel` (relative to dest) as a directory, refusing symlinks anywhere on the way and
// anything that would leave dest.
Result<UniqueFd> open_beneath(int dest, const std::string& rel) {
  if (rel.empty()) {
    int fd = ::fcntl(dest, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return fail_errno("dup");
    return UniqueFd(fd);
  }
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, dest, rel.c_str(), &how, sizeof how);
  if (fd < 0) {
    if (errno == ELOOP || errno == EXDEV) return fail(Errc::invalid_input, rel + ": refusing to follow a symlink out of the destination");
    return fail_errno("open " + rel);
  }
  return UniqueFd(static_cast<int>(fd));
}

std::string rel_path(const Tree& tree, size_t idx) {
  std::string p = tree.path_of(idx);
  return p == "/" ? "" : p.substr(1);
}

struct Unpacker {
  const Tree& tree;
  BlockStore& store;
  const UnpackOptions& opts;
  int dest;
  Progress& progress;
  std::mutex warn_mu;
  std::atomic<uint64_t> files{0}, bytes{0};

  void warn(std::string w) {
    std::lock_guard lock(warn_mu);
    if (opts.warnings) opts.warnings->push_back(std::move(w));
  }

  // Sets xattrs through a path (symlinks, devices) or an fd. Without privilege some namespaces
  // (trusted., security.) cannot be set: that is a warning, not a failure.
  Result<void> set_xattrs(const Node& n, int fd, const std::string& proc_path, const std::string& shown) {
    for (const auto& x : n.xattrs) {
      int rc = fd >= 0 ? ::fsetxattr(fd, x.name.c_str(), x.value.data(), x.value.size(), 0)
                       : ::lsetxattr(proc_path.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0);
      if (rc < 0) {
        if (errno == EPERM || errno == ENOTSUP || errno == EACCES) {
          warn("could not set xattr " + x.name + " on " + shown + ": " + std::strerror(errno));
          continue;
        }
        return fail_errno("setxattr " + x.name + " on " + shown);
      }
    }
    return {};
  }

  Result<void> set_meta_fd(const Node& n, int fd, const std::string& shown) {
    if (opts.same_owner && ::fchown(fd, n.uid, n.gid) < 0) return fail_errno("chown " + shown);
    TRY(set_xattrs(n, fd, "", shown));
    // chmod after chown: chown clears setuid/setgid.
    if (::fchmod(fd, n.mode & 07777) < 0) return fail_errno("chmod " + shown);
    timespec ts[2] = {{n.mtime, 0}, {n.mtime, 0}};
    if (::futimens(fd, ts) < 0) return fail_errno("utimes " + shown);
    return {};
  }

  Result<void> set_meta_at(const Node& n, int pfd, const std::string& shown) {
    std::string proc = "/proc/self/fd/" + std::to_string(pfd) + "/" + n.name;
    if (opts.same_owner && ::fchownat(pfd, n.name.c_str(), n.uid, n.gid, AT_SYMLINK_NOFOLLOW) < 0) return fail_errno("chown " + shown);
    TRY(set_xattrs(n, -1, proc, shown));
    if (!n.is_symlink() && ::fchmodat(pfd, n.name.c_str(), n.mode & 07777, 0) < 0) return fail_errno("chmod " + shown);
    timespec ts[2] = {{n.mtime, 0}, {n.mtime, 0}};
    if (::utimensat(pfd, n.name.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) return fail_errno("utimes " + shown);
    return {};
  }

  Result<void> make_dir(size_t idx) {
    const Node& n = tree.nodes[idx];
    UniqueFd pfd = TRY(open_beneath(dest, rel_path(tree, n.parent)));
    if (::mkdirat(pfd.get(), n.name.c_str(), 0700) < 0) {
      std::string shown = printable(tree.path_of(idx));
      if (errno != EEXIST) return fail_errno("mkdir " + shown);
      struct stat st;
      if (::fstatat(pfd.get(), n.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return fail_errno("stat " + shown);
      if (S_ISLNK(st.st_mode)) return fail(Errc::invalid_input, shown + " is a symlink in the destination; refusing to follow it");
      if (!S_ISDIR(st.st_mode)) return fail(Errc::conflict, shown + " exists in the destination and is not a directory");
    }
    return {};
  }

  Result<void> make_entry(size_t idx, const UniqueFd& pfd) {
    const Node& n = tree.nodes[idx];
    std::string shown = printable(tree.path_of(idx));
    auto exists = [&]() { return fail(Errc::conflict, shown + " already exists in the destination"); };
    switch (n.type()) {
      case S_IFREG: {
        UniqueFd fd(::openat(pfd.get(), n.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) return errno == EEXIST ? exists() : fail_errno("create " + shown);
        if (n.damaged()) {
          warn(tree.describe_damage(idx) + "; unpacked empty");
          TRY(set_meta_fd(n, fd.get(), shown));
          break;
        }
        off_t off = 0;
        TRY_CTX(read_blocks(n.blocks, store,
                    [&](std::span<const uint8_t> chunk) -> Result<void> {
                      TRY(pwrite_all(fd.get(), chunk, off));
                      off += static_cast<off_t>(chunk.size());
                      progress.add(chunk.size());
                      return {};
                    }),
            shown);
        if (static_cast<uint64_t>(off) != n.size)
          return fail(Errc::corrupt, shown + ": blocks hold " + std::to_string(off) + " bytes, the flist says " + std::to_string(n.size));
        bytes += n.size;
        TRY(set_meta_fd(n, fd.get(), shown));
        break;
      }
      case S_IFLNK:
        if (::symlinkat(n.link.c_str(), pfd.get(), n.name.c_str()) < 0) return errno == EEXIST ? exists() : fail_errno("symlink " + shown);
        TRY(set_meta_at(n, pfd.get(), shown));
        break;
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
        if (::mknodat(pfd.get(), n.name.c_str(), n.type() | 0600, n.rdev) < 0) {
          if (errno == EEXIST) return exists();
          if (errno == EPERM && n.type() != S_IFIFO) {
            warn("could not create device " + shown + " (needs root)");
            return {};
          }
          return fail_errno("mknod " + shown);
        }
        TRY(set_meta_at(n, pfd.get(), shown));
        break;
      case S_IFSOCK: warn("skipped socket " + shown); break;
    }
    ++files;
    progress.add(0, 1);
    return {};
  }

  Result<void> make_hardlink(size_t idx, size_t target) {
    const Node& n = tree.nodes[idx];
    UniqueFd pfd = TRY(open_beneath(dest, rel_path(tree, n.parent)));
    UniqueFd tfd = TRY(open_beneath(dest, rel_path(tree, tree.nodes[target].parent)));
    if (::linkat(tfd.get(), tree.nodes[target].name.c_str(), pfd.get(), n.name.c_str(), 0) < 0)
      return fail_errno("link " + printable(tree.path_of(idx)) + " to " + printable(tree.path_of(target)));
    ++files;
    return {};
  }
};

}  // namespace

Result<UnpackStats> unpack(const Tree& tree, BlockStore& store, const std::string& dest_path, const UnpackOptions& opts) {
  if (auto damaged = tree.damaged_files(); opts.strict && !damaged.empty())
    return fail(Errc::invalid_input, tree.describe_damage(damaged[0]) +
                                         (damaged.size() > 1 ? " and " + std::to_string(damaged.size() - 1) + " more" : std::string()) +
                                         "; without --strict they are unpacked empty");
  if (::mkdir(dest_path.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("mkdir " + dest_path);
  UniqueFd dest(::open(dest_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dest) return fail_errno("open " + dest_path);

  std::vector<size_t> order = tree.preorder();
  // Trees loaded from a file are validated already; one built in memory may not be.
  for (size_t i : order)
    if (i != Tree::kRoot && !valid_name(tree.nodes[i].name))
      return fail(Errc::invalid_input, "refusing to unpack an entry named '" + printable(tree.nodes[i].name) + "'");
  uint64_t total = 0;
  for (size_t i : order)
    if (tree.nodes[i].is_reg() && !tree.nodes[i].hardlink && !tree.nodes[i].damaged()) total += tree.nodes[i].size;
  Progress progress("unpacking", total, opts.progress);
  Unpacker u{tree, store, opts, dest.get(), progress, {}, {}, {}};

  // 1. Directories, parents first.
  for (size_t i : order)
    if (i != Tree::kRoot && tree.nodes[i].is_dir()) TRY(u.make_dir(i));

  // 2. Everything else in parallel. Work is handed out per directory, in batches of up to
  //    kBatchBytes of content: creating entries side by side in one directory from several
  //    threads only makes them queue on that directory's lock, while large files still spread
  //    over all threads. The first member of each hard link group carries the content.
  constexpr uint64_t kBatchBytes = 4 << 20;
  struct Batch {
    size_t parent;
    std::vector<size_t> entries;
    uint64_t bytes = 0;
  };
  std::vector<Batch> batches;
  std::unordered_map<size_t, size_t> open_batch;  // parent → its batch being filled
  std::vector<std::pair<size_t, size_t>> links;   // (node, node it links to)
  std::unordered_map<size_t, size_t> group_first;
  for (size_t i : order) {
    const Node& n = tree.nodes[i];
    if (n.is_dir()) continue;
    if (n.is_reg()) {
      auto [it, first] = group_first.emplace(n.hardlink.value_or(i), i);
      if (!first) {
        links.emplace_back(i, it->second);
        continue;
      }
    }
    auto ob = open_batch.find(n.parent);
    if (ob == open_batch.end() || batches[ob->second].bytes >= kBatchBytes) {
      batches.push_back({n.parent, {}, 0});
      ob = open_batch.insert_or_assign(n.parent, batches.size() - 1).first;
    }
    batches[ob->second].entries.push_back(i);
    batches[ob->second].bytes += n.is_reg() ? n.size : 0;
  }
  TRY(parallel_for(batches.size(), opts.threads, [&](size_t k) -> Result<void> {
    const Batch& b = batches[k];
    UniqueFd pfd = TRY(open_beneath(dest.get(), rel_path(tree, b.parent)));
    for (size_t e : b.entries) TRY(u.make_entry(e, pfd));
    return {};
  }));
  for (auto [node, target] : links) TRY(u.make_hardlink(node, target));

  // 3. Directory metadata last and deepest first: creating entries changes a directory's mtime,
  //    and a read-only directory could not have been filled.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node& n = tree.nodes[*it];
    if (!n.is_dir()) continue;
    UniqueFd fd = TRY(open_beneath(dest.get(), rel_path(tree, *it)));
    TRY(u.set_meta_fd(n, fd.get(), printable(tree.path_of(*it))));
  }
  progress.finish();
  return UnpackStats{u.files.load(), u.bytes.load()};
}

}  // namespace tiffin
