#include "flist/flist_index.hpp"

#include <sys/stat.h>

#include <cstring>

namespace tiffin {
namespace {
constexpr size_t kInodeCacheLimit = 200000;
constexpr const char* kColumns = "i.ino, i.parent, i.name, i.size, i.uid, i.gid, i.mode, i.rdev, i.ctime, i.mtime";

InodeRow row_of(const sql::Stmt& s) {
  return InodeRow{static_cast<uint64_t>(s.i64(0)), static_cast<uint64_t>(s.i64(1)), s.text(2), static_cast<uint64_t>(s.i64(3)),
      static_cast<uint64_t>(s.i64(7)), static_cast<uint32_t>(s.i64(4)), static_cast<uint32_t>(s.i64(5)), static_cast<uint32_t>(s.i64(6)),
      s.i64(8), s.i64(9)};
}
}  // namespace

FlistIndex::~FlistIndex() = default;

Result<std::unique_ptr<FlistIndex>> FlistIndex::open(const std::string& path) {
  std::unique_ptr<FlistIndex> idx(new FlistIndex(path));
  auto c = TRY(idx->acquire());
  idx->has_xattrs_ = c->db.has_table("tiffin_xattr");
  idx->has_hardlinks_ = c->db.has_table("tiffin_hardlink");
  idx->release(std::move(c));
  return idx;
}

Result<std::unique_ptr<FlistIndex::Conn>> FlistIndex::acquire() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<Conn>();
  c->db = TRY(sql::Db::open_readonly(path_));
  std::string cols = kColumns;
  bool links = c->db.has_table("tiffin_hardlink");
  c->by_ino = TRY(sql::Stmt::prepare(c->db, "SELECT " + cols + " FROM inode i WHERE i.ino = ?"));
  c->by_name = TRY(sql::Stmt::prepare(c->db, "SELECT " + cols + " FROM inode i WHERE i.parent = ? AND i.name = ?"));
  // Children come with the inode a hard link resolves to, in the same query.
  c->children = TRY(sql::Stmt::prepare(
      c->db, "SELECT " + cols + (links ? ", h.target FROM inode i LEFT JOIN tiffin_hardlink h ON h.ino = i.ino" : ", NULL FROM inode i") +
                 " WHERE i.parent = ? AND i.ino != 1 ORDER BY i.name"));
  c->blocks = TRY(sql::Stmt::prepare(c->db, "SELECT id, key FROM block WHERE ino = ? ORDER BY rowid"));
  c->link = TRY(sql::Stmt::prepare(c->db, "SELECT data FROM extra WHERE ino = ?"));
  if (c->db.has_table("tiffin_xattr"))
    c->xattrs = TRY(sql::Stmt::prepare(c->db, "SELECT name, value FROM tiffin_xattr WHERE ino = ? ORDER BY name"));
  if (links) {
    c->link_target = TRY(sql::Stmt::prepare(c->db, "SELECT target FROM tiffin_hardlink WHERE ino = ?"));
    c->link_count = TRY(sql::Stmt::prepare(c->db, "SELECT count(*) FROM tiffin_hardlink WHERE target = ?"));
  }
  return c;
}

void FlistIndex::release(std::unique_ptr<Conn> c) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(std::move(c));
}

template <class F>
auto FlistIndex::with(F&& f) -> decltype(f(std::declval<Conn&>())) {
  auto c = TRY(acquire());
  auto r = f(*c);
  release(std::move(c));
  return r;
}

Result<InodeRow> FlistIndex::inode(uint64_t ino) {
  {
    std::lock_guard lock(cache_mu_);
    if (auto it = cache_.find(ino); it != cache_.end()) return it->second;
  }
  InodeRow row = TRY(with([&](Conn& c) -> Result<InodeRow> {
    c.by_ino.bind(1, static_cast<int64_t>(ino));
    bool found = TRY(c.by_ino.step());
    InodeRow r = found ? row_of(c.by_ino) : InodeRow{};
    c.by_ino.reset();
    if (!found) return fail(Errc::not_found, "no inode " + std::to_string(ino));
    return resolve_hardlink(c, std::move(r));
  }));
  std::lock_guard lock(cache_mu_);
  if (cache_.size() >= kInodeCacheLimit) cache_.clear();
  cache_[ino] = row;
  return row;
}

Result<std::optional<InodeRow>> FlistIndex::lookup(uint64_t parent, const std::string& name) {
  auto row = TRY(with([&](Conn& c) -> Result<std::optional<InodeRow>> {
    c.by_name.bind(1, static_cast<int64_t>(parent)).bind(2, name);
    bool found = TRY(c.by_name.step());
    std::optional<InodeRow> r;
    if (found) r = row_of(c.by_name);
    c.by_name.reset();
    if (r) r = TRY(resolve_hardlink(c, std::move(*r)));
    return r;
  }));
  if (row) {
    std::lock_guard lock(cache_mu_);
    if (cache_.size() >= kInodeCacheLimit) cache_.clear();
    cache_[row->ino] = *row;
  }
  return row;
}

Result<InodeRow> FlistIndex::resolve_hardlink(Conn& c, InodeRow row) {
  if (!has_hardlinks_ || !S_ISREG(row.mode)) return row;
  c.link_target.bind(1, static_cast<int64_t>(row.ino));
  bool linked = TRY(c.link_target.step());
  int64_t target = linked ? c.link_target.i64(0) : 0;
  c.link_target.reset();
  if (linked) {
    c.by_ino.bind(1, target);
    bool found = TRY(c.by_ino.step());
    if (found) row = row_of(c.by_ino);
    c.by_ino.reset();
    if (!found) return fail(Errc::corrupt, "hard link to missing inode " + std::to_string(target));
  }
  c.link_count.bind(1, static_cast<int64_t>(row.ino));
  if (TRY(c.link_count.step())) row.nlink = 1 + static_cast<uint32_t>(c.link_count.i64(0));
  c.link_count.reset();
  return row;
}

Result<std::vector<InodeRow>> FlistIndex::children(uint64_t parent) {
  return with([&](Conn& c) -> Result<std::vector<InodeRow>> {
    std::vector<InodeRow> out;
    c.children.bind(1, static_cast<int64_t>(parent));
    while (TRY(c.children.step())) {
      out.push_back(row_of(c.children));
      if (c.children.type(10) == SQLITE_INTEGER) out.back().ino = static_cast<uint64_t>(c.children.i64(10));
    }
    c.children.reset();
    return out;
  });
}

Result<std::vector<BlockRef>> FlistIndex::blocks(uint64_t ino) {
  return with([&](Conn& c) -> Result<std::vector<BlockRef>> {
    std::vector<BlockRef> out;
    c.blocks.bind(1, static_cast<int64_t>(ino));
    while (TRY(c.blocks.step())) {
      auto id = c.blocks.blob(0), key = c.blocks.blob(1);
      if (id.size() != 32 || key.size() != 32) {
        c.blocks.reset();
        return fail(Errc::corrupt, "block of inode " + std::to_string(ino) + " is not 32 bytes");
      }
      BlockRef b;
      std::memcpy(b.id.data(), id.data(), 32);
      std::memcpy(b.key.data(), key.data(), 32);
      out.push_back(b);
    }
    c.blocks.reset();
    return out;
  });
}

Result<std::string> FlistIndex::link(uint64_t ino) {
  return with([&](Conn& c) -> Result<std::string> {
    c.link.bind(1, static_cast<int64_t>(ino));
    bool found = TRY(c.link.step());
    std::string target = found ? c.link.text(0) : std::string();
    c.link.reset();
    return target;
  });
}

Result<std::vector<Xattr>> FlistIndex::xattrs(uint64_t ino) {
  if (!has_xattrs_) return std::vector<Xattr>{};
  return with([&](Conn& c) -> Result<std::vector<Xattr>> {
    std::vector<Xattr> out;
    c.xattrs.bind(1, static_cast<int64_t>(ino));
    while (TRY(c.xattrs.step())) {
      auto v = c.xattrs.blob(1);
      out.push_back({c.xattrs.text(0), Bytes(v.begin(), v.end())});
    }
    c.xattrs.reset();
    return out;
  });
}

}  // namespace tiffin
