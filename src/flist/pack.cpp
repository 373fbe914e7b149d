#include "flist/pack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "common/fd.hpp"
#include "flist/path.hpp"
#include "store/block_codec.hpp"

namespace tiffin {
namespace {

unsigned thread_count(const PackOptions& o) { return o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency()); }

void note(const PackOptions& o, std::string line) {
  if (o.notes) o.notes->push_back(std::move(line));
}

// Hard links share the blocks of the node they link to; those exist only once the writer is done.
void resolve_hardlinks(Tree& tree) {
  for (auto& n : tree.nodes)
    if (n.hardlink) {
      const Node& target = tree.nodes[*n.hardlink];
      n.blocks = target.blocks;
      n.size = target.size;
    }
}

Result<std::vector<Xattr>> read_xattrs(const std::string& path) {
  std::vector<Xattr> out;
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return out;
    return fail_errno("listxattr " + path);
  }
  if (len == 0) return out;
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  if (len < 0) return fail_errno("listxattr " + path);
  names.resize(static_cast<size_t>(len));
  for (size_t i = 0; i < names.size();) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    ssize_t vlen = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0) {
      if (errno == ENODATA) continue;
      return fail_errno("getxattr " + path + " " + name);
    }
    Bytes value(static_cast<size_t>(vlen));
    vlen = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (vlen < 0) return fail_errno("getxattr " + path + " " + name);
    value.resize(static_cast<size_t>(vlen));
    out.push_back({name, std::move(value)});
  }
  std::sort(out.begin(), out.end(), [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return out;
}

Node node_from_stat(std::string name, const struct stat& st) {
  Node n;
  n.name = std::move(name);
  n.mode = st.st_mode;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.size = S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  n.rdev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? st.st_rdev : 0;
  n.ctime = st.st_ctim.tv_sec;
  n.mtime = st.st_mtim.tv_sec;
  return n;
}

struct FileToRead {
  size_t node;
  std::string path;
  uint64_t size;
};

// Reads a file in block-sized chunks and submits them; returns the bytes read (a file that
// changes size while packed is recorded as read).
Result<uint64_t> feed_file(const std::string& path, uint64_t expected_size, size_t node, BlockWriter& writer) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail_errno("open " + path);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  uint64_t total = 0;
  for (size_t index = 0;; ++index) {
    // Size the buffer to what the file should still hold (+1 to notice growth): most files are
    // small, and zero-filling 512 KiB for each of them showed up in profiles.
    uint64_t left = expected_size > total ? expected_size - total : 0;
    size_t want = static_cast<size_t>(std::min<uint64_t>(kBlockSize, left + 1));
    Bytes chunk(want);
    size_t n = TRY_CTX(read_full(fd.get(), chunk), path);
    if (n == want && want < kBlockSize) {  // the file grew: every block but the last is full
      chunk.resize(kBlockSize);
      n += TRY_CTX(read_full(fd.get(), std::span(chunk).subspan(n)), path);
    }
    if (n == 0) break;
    chunk.resize(n);
    total += n;
    writer.submit(node, index, std::move(chunk));
    if (n < kBlockSize) break;
  }
  return total;
}

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

bool is_overlay_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

// An empty regular file standing for a whiteout, with its times from `like`.
Node whiteout_node(std::string name, const Node& like) {
  Node w;
  w.name = std::move(name);
  w.mode = S_IFREG;
  w.size = 0;
  w.mtime = like.mtime;
  w.ctime = like.ctime;
  return w;
}

// Removes overlayfs's bookkeeping from an upper entry's xattrs; whether it was marked opaque.
Result<bool> take_overlay_xattrs(Node& n) {
  constexpr std::string_view kOverlay = "trusted.overlay.";
  bool opaque = false;
  for (const auto& x : n.xattrs) {
    if (!x.name.starts_with(kOverlay)) continue;
    std::string_view what = std::string_view(x.name).substr(kOverlay.size());
    if (what == "opaque") opaque = n.is_dir() && x.value == Bytes{'y'};
    if (what == "redirect" || what == "metacopy")
      return fail(Errc::unsupported, "an overlayfs " + std::string(what) + " entry (its content is in the lower layer)");
  }
  std::erase_if(n.xattrs, [&](const Xattr& x) { return x.name.starts_with(kOverlay); });
  return opaque;
}

}  // namespace

Result<PackStats> pack_directory(const std::string& dir, BlockStore& store, Tree& tree, const PackOptions& opts) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) < 0) return fail_errno("stat " + dir);
  if (!S_ISDIR(st.st_mode)) return fail(Errc::invalid_input, dir + " is not a directory");
  Node& root = tree.nodes[Tree::kRoot];
  root = node_from_stat("/", st);
  root.xattrs = TRY(read_xattrs(dir));
  if (opts.overlay_upper) (void)TRY_CTX(take_overlay_xattrs(root), dir);

  // Walk first, so the progress bar knows the total.
  std::vector<FileToRead> files;
  std::map<std::pair<dev_t, ino_t>, size_t> links;
  uint64_t total = 0;
  // Each directory to walk: its host path, its node and its path relative to `dir`.
  struct Pending {
    std::string path;
    size_t node;
    std::string relative;
  };
  std::vector<Pending> stack{{dir, Tree::kRoot, ""}};
  while (!stack.empty()) {
    auto [path, index, relative] = std::move(stack.back());
    stack.pop_back();
    DIR* d = ::opendir(path.c_str());
    if (!d) return fail_errno("opendir " + path);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    for (const auto& name : names) {
      std::string child = path + "/" + name;
      if (::lstat(child.c_str(), &st) < 0) return fail_errno("stat " + child);
      std::string child_relative = relative.empty() ? name : relative + "/" + name;
      if (opts.exclude && opts.exclude(child_relative, S_ISDIR(st.st_mode))) continue;
      if (S_ISSOCK(st.st_mode)) {
        note(opts, "skipped socket " + child);
        continue;
      }
      Node n = node_from_stat(name, st);
      n.xattrs = TRY(read_xattrs(child));
      bool opaque = false;
      if (opts.overlay_upper) {
        if (is_overlay_whiteout(st)) {
          tree.put(index, whiteout_node(std::string(kWhiteout) + name, n));
          continue;
        }
        opaque = TRY_CTX(take_overlay_xattrs(n), child);
      }
      if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
        ssize_t len = ::readlink(child.c_str(), target.data(), target.size());
        if (len < 0) return fail_errno("readlink " + child);
        target.resize(static_cast<size_t>(len));
        n.link = std::move(target);
        n.size = n.link.size();
      }
      bool is_reg = S_ISREG(st.st_mode), is_dir = S_ISDIR(st.st_mode);
      std::optional<size_t> link_target;
      if (is_reg && st.st_nlink > 1) {
        auto it = links.find({st.st_dev, st.st_ino});
        if (it != links.end()) link_target = it->second;
      }
      n.hardlink = link_target;
      size_t idx = tree.put(index, std::move(n));
      if (is_reg && !link_target) {
        if (st.st_nlink > 1) links[{st.st_dev, st.st_ino}] = idx;
        files.push_back({idx, child, static_cast<uint64_t>(st.st_size)});
        total += static_cast<uint64_t>(st.st_size);
      }
      if (opaque) tree.put(idx, whiteout_node(std::string(kOpaque), tree.nodes[idx]));
      if (is_dir) stack.push_back({child, idx, std::move(child_relative)});
    }
  }

  Progress progress("packing", total, opts.progress);
  BlockWriter writer(store, thread_count(opts), &progress);
  PackStats stats;
  for (const auto& f : files) {
    auto size = feed_file(f.path, f.size, f.node, writer);
    if (!size) {
      (void)writer.finish(tree, stats);
      return std::unexpected(size.error());
    }
    tree.nodes[f.node].size = *size;
    stats.bytes += *size;
    ++stats.files;
    progress.add(0, 1);
  }
  TRY(writer.finish(tree, stats));
  progress.finish();
  resolve_hardlinks(tree);
  TRY_CTX(store.flush(), "flushing store");
  return stats;
}

namespace {

// libarchive may have no message for an error; never build a string from NULL.
std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "malformed archive";
}

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Finds or creates (as 0755 directories) the parents of a tar entry.
Result<size_t> ensure_parents(Tree& tree, const std::vector<std::string>& parts, int64_t mtime, const std::string& entry) {
  size_t cur = Tree::kRoot;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto& ch = tree.nodes[cur].children;
    auto it = ch.find(parts[i]);
    if (it == ch.end()) {
      Node d;
      d.name = parts[i];
      d.mode = S_IFDIR | 0755;
      d.size = 4096;
      d.mtime = d.ctime = mtime;
      cur = tree.put(cur, std::move(d));
    } else {
      if (!tree.nodes[it->second].is_dir())
        return fail(Errc::invalid_input, "tar entry '" + entry + "': '" + parts[i] + "' is not a directory");
      cur = it->second;
    }
  }
  return cur;
}

// An opaque directory keeps only what this layer put in it; a subdirectory this layer declared
// again loses its lower content too (as an overlayfs upper directory marked opaque hides all).
void hide_lower(Tree& tree, size_t dir, const std::unordered_set<size_t>& this_layer) {
  std::vector<std::string> gone;
  for (const auto& [name, child] : tree.nodes[dir].children) {
    if (!this_layer.contains(child)) {
      gone.push_back(name);
    } else if (tree.nodes[child].is_dir()) {
      hide_lower(tree, child, this_layer);
    }
  }
  for (const auto& name : gone) tree.remove(dir, name);
}

}  // namespace

void settle_hardlinks(Tree& tree) {
  std::vector<bool> reachable(tree.nodes.size(), false);
  for (size_t i : tree.preorder()) reachable[i] = true;
  std::map<size_t, size_t> new_first;  // unreachable first → the reachable node taking its place
  for (size_t i : tree.preorder()) {
    Node& n = tree.nodes[i];
    if (!n.hardlink || reachable[*n.hardlink]) continue;
    auto [it, added] = new_first.try_emplace(*n.hardlink, i);
    n.hardlink = added ? std::nullopt : std::optional<size_t>(it->second);
  }
}

Result<PackStats> pack_tar(int fd, const std::string& name, BlockStore& store, Tree& tree, const PackOptions& opts) {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK) return fail(Errc::invalid_input, name + ": " + archive_message(a.get()));

  Progress progress("packing", 0, opts.progress);
  BlockWriter writer(store, thread_count(opts), &progress);
  PackStats stats;
  auto abort = [&](Error e) -> Result<PackStats> {
    PackStats ignored;
    (void)writer.finish(tree, ignored);
    return std::unexpected(std::move(e).context(name));
  };

  std::unordered_set<size_t> this_layer;  // oci_layer: the nodes this layer put
  archive_entry* e = nullptr;
  for (;;) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return abort(Error{Errc::invalid_input, 0, std::string("reading tar: ") + archive_message(a.get())});
    const char* raw = archive_entry_pathname(e);
    if (!raw) return abort(Error{Errc::invalid_input, 0, "tar entry without a name"});
    std::string entry = raw;
    auto parts = split_path(entry);
    if (!parts) return abort(Error{Errc::invalid_input, 0, "tar entry '" + entry + "': " + parts.error().message});

    Node n;
    n.mode = archive_entry_mode(e);
    n.uid = static_cast<uint32_t>(archive_entry_uid(e));
    n.gid = static_cast<uint32_t>(archive_entry_gid(e));
    n.mtime = archive_entry_mtime(e);
    n.ctime = archive_entry_ctime_is_set(e) ? archive_entry_ctime(e) : n.mtime;
    archive_entry_xattr_reset(e);
    const char* xname;
    const void* xvalue;
    size_t xsize;
    while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
      auto* v = static_cast<const uint8_t*>(xvalue);
      n.xattrs.push_back({xname, Bytes(v, v + xsize)});
    }
    // pax archives may carry an attribute twice (LIBARCHIVE.xattr and SCHILY.xattr): keep one.
    std::stable_sort(n.xattrs.begin(), n.xattrs.end(), [](const Xattr& x, const Xattr& y) { return x.name < y.name; });
    n.xattrs.erase(
        std::unique(n.xattrs.begin(), n.xattrs.end(), [](const Xattr& x, const Xattr& y) { return x.name == y.name; }), n.xattrs.end());

    if (parts->empty()) {  // "./": the root's own metadata
      if (!S_ISDIR(n.mode)) return abort(Error{Errc::invalid_input, 0, "tar entry '" + entry + "' names the root but is not a directory"});
      Node& root = tree.nodes[Tree::kRoot];
      root.mode = n.mode;
      root.uid = n.uid;
      root.gid = n.gid;
      root.mtime = n.mtime;
      root.ctime = n.ctime;
      root.xattrs = std::move(n.xattrs);
      continue;
    }
    auto parent = ensure_parents(tree, *parts, n.mtime, entry);
    if (!parent) return abort(parent.error());
    n.name = parts->back();
    if (opts.oci_layer && n.name.starts_with(kWhiteout)) {
      if (n.name == kOpaque) {
        hide_lower(tree, *parent, this_layer);
      } else {
        std::string hidden = n.name.substr(kWhiteout.size());
        if (!valid_name(hidden)) return abort(Error{Errc::invalid_input, 0, "tar entry '" + entry + "': a whiteout of no valid name"});
        tree.remove(*parent, hidden);
      }
      ++stats.whiteouts;
      continue;
    }
    // Every node this entry creates or re-declares (an opaque marker later keeps them).
    auto put = [&](size_t at, Node node) {
      size_t idx = tree.put(at, std::move(node));
      if (opts.oci_layer) this_layer.insert(idx);
      return idx;
    };
    if (opts.oci_layer)
      for (size_t p = *parent; p != Tree::kRoot; p = tree.nodes[p].parent) this_layer.insert(p);

    if (const char* hl = archive_entry_hardlink(e)) {
      auto target = tree.find(hl);
      if (!target || !tree.nodes[*target].is_reg())
        return abort(Error{Errc::invalid_input, 0,
            "tar entry '" + entry + "': hard link to '" + std::string(hl) + "', which is not an earlier regular file"});
      Node copy = tree.nodes[*target];
      copy.name = n.name;
      copy.children.clear();
      copy.hardlink = tree.nodes[*target].hardlink.value_or(*target);
      put(*parent, std::move(copy));
      continue;
    }

    switch (archive_entry_filetype(e)) {
      case AE_IFREG: {
        n.mode = S_IFREG | (n.mode & 07777);
        size_t idx = put(*parent, std::move(n));
        uint64_t total = 0;
        for (size_t index = 0;; ++index) {
          Bytes chunk(kBlockSize);
          size_t filled = 0;
          while (filled < chunk.size()) {
            la_ssize_t r = archive_read_data(a.get(), chunk.data() + filled, chunk.size() - filled);
            if (r < 0) return abort(Error{Errc::invalid_input, 0, "tar entry '" + entry + "': " + archive_message(a.get())});
            if (r == 0) break;
            filled += static_cast<size_t>(r);
          }
          if (filled == 0) break;
          chunk.resize(filled);
          total += filled;
          writer.submit(idx, index, std::move(chunk));
          if (filled < kBlockSize) break;
        }
        tree.nodes[idx].size = total;
        stats.bytes += total;
        ++stats.files;
        progress.add(0, 1);
        break;
      }
      case AE_IFDIR:
        n.size = 4096;
        put(*parent, std::move(n));
        break;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target || !*target) return abort(Error{Errc::invalid_input, 0, "tar entry '" + entry + "': symlink without a target"});
        n.link = target;
        if (n.link.size() > 4096) return abort(Error{Errc::invalid_input, 0, "tar entry '" + entry + "': symlink target too long"});
        n.size = n.link.size();
        put(*parent, std::move(n));
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK:
        n.rdev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        put(*parent, std::move(n));
        break;
      case AE_IFIFO: put(*parent, std::move(n)); break;
      case AE_IFSOCK: note(opts, "skipped socket " + entry); break;
      default: return abort(Error{Errc::invalid_input, 0, "tar entry '" + entry + "' has an unknown type"});
    }
  }
  TRY(writer.finish(tree, stats));
  progress.finish();
  resolve_hardlinks(tree);
  TRY_CTX(store.flush(), "flushing store");
  return stats;
}

Result<PackStats> pack(const std::string& source, BlockStore& store, Tree& tree, const PackOptions& opts) {
  if (source == "-") return pack_tar(STDIN_FILENO, "stdin", store, tree, opts);
  struct stat st;
  if (::stat(source.c_str(), &st) < 0) return fail_errno(source);
  if (S_ISDIR(st.st_mode)) return pack_directory(source, store, tree, opts);
  UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + source);
  return pack_tar(fd.get(), source, store, tree, opts);
}

}  // namespace tiffin
