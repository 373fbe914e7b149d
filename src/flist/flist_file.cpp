#include "flist/flist_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <random>
#include <unordered_map>

#include "common/fd.hpp"
#include "common/sqlite.hpp"
#include "common/text.hpp"
#include "flist/flist_profile.hpp"
#include "flist/path.hpp"
#include "flist/schema.hpp"

namespace tiffin {
namespace {

constexpr uint64_t kMaxFileSize = uint64_t(1) << 50;  // 1 PiB: anything larger is not a real file
constexpr size_t kMaxXattrValue = 64 * 1024;

// A structurally bad flist is bad input (exit code 2), whoever made it.
Error bad(const std::string& path, const std::string& what) { return Error{Errc::invalid_input, 0, path + ": " + what}; }

bool valid_type(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK: return true;
    default: return false;
  }
}

bool is_int(const sql::Stmt& s, int col) { return s.type(col) == SQLITE_INTEGER; }

Result<Hash> hash_column(const sql::Stmt& s, int col, const std::string& path, const char* what) {
  auto b = s.blob(col);
  if (s.type(col) != SQLITE_BLOB || b.size() != 32)
    return std::unexpected(bad(path, std::string("block ") + what + " is not a 32-byte blob"));
  Hash h;
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

// The ids of `ids` the tree's files use, without repeats, at most kMaxProfileIds.
std::vector<Hash> profile_in_tree(const Tree& tree, std::span<const Hash> ids) {
  if (ids.empty()) return {};
  std::vector<Hash> known = tree.block_ids();  // sorted
  std::vector<Hash> in;
  for (const Hash& id : ids)
    if (std::binary_search(known.begin(), known.end(), id)) in.push_back(id);
  return dedupe_profile(in);
}

// Reads and validates the file; load_flist() settles the kind of its errors.
Result<Tree> read_flist(const std::string& path) {
  sql::Db db = TRY(sql::Db::open_readonly(path));
  TRY(schema::require_rfs_tables(db, path));

  Tree tree;
  tree.nodes.clear();
  std::unordered_map<int64_t, size_t> by_ino;
  std::vector<int64_t> parent_ino;

  auto rows = TRY(sql::Stmt::prepare(db, "SELECT ino, parent, name, size, uid, gid, mode, rdev, ctime, mtime FROM inode ORDER BY ino"));
  while (TRY(rows.step())) {
    for (int c : {0, 1, 3, 4, 5, 6, 7, 8, 9})
      if (!is_int(rows, c)) return std::unexpected(bad(path, "inode row with a non-integer column " + std::to_string(c)));
    if (rows.type(2) != SQLITE_TEXT) return std::unexpected(bad(path, "inode " + std::to_string(rows.i64(0)) + " has no name"));
    int64_t ino = rows.i64(0), size = rows.i64(3), uid = rows.i64(4), gid = rows.i64(5), mode = rows.i64(6), rdev = rows.i64(7);
    std::string where = "inode " + std::to_string(ino);
    Node n;
    n.ino = static_cast<uint64_t>(ino);
    n.name = rows.text(2);
    if (mode < 0 || mode > 0xffffffffll || !valid_type(static_cast<uint32_t>(mode)))
      return std::unexpected(bad(path, where + " has an invalid mode " + std::to_string(mode)));
    if (size < 0 || static_cast<uint64_t>(size) > kMaxFileSize)
      return std::unexpected(bad(path, where + " has an absurd size " + std::to_string(size)));
    if (uid < 0 || uid > 0xffffffffll || gid < 0 || gid > 0xffffffffll) return std::unexpected(bad(path, where + " has an invalid owner"));
    if (rdev < 0) return std::unexpected(bad(path, where + " has an invalid rdev"));
    n.mode = static_cast<uint32_t>(mode);
    n.size = static_cast<uint64_t>(size);
    n.uid = static_cast<uint32_t>(uid);
    n.gid = static_cast<uint32_t>(gid);
    n.rdev = static_cast<uint64_t>(rdev);
    n.ctime = rows.i64(8);
    n.mtime = rows.i64(9);
    if (ino == 1) {
      if (rows.i64(1) != 0 || !n.is_dir()) return std::unexpected(bad(path, "inode 1 is not a root directory"));
    } else if (!valid_name(n.name)) {
      return std::unexpected(bad(path, where + " has an invalid name '" + printable(n.name) + "'"));
    }
    if (by_ino.contains(ino)) return std::unexpected(bad(path, "duplicate " + where));
    by_ino[ino] = tree.nodes.size();
    parent_ino.push_back(rows.i64(1));
    tree.nodes.push_back(std::move(n));
  }
  auto root_it = by_ino.find(1);
  if (root_it == by_ino.end()) return std::unexpected(bad(path, "no root inode (ino 1)"));
  // Node 0 must be the root: swap it into place.
  if (root_it->second != 0) {
    size_t r = root_it->second;
    std::swap(tree.nodes[0], tree.nodes[r]);
    std::swap(parent_ino[0], parent_ino[r]);
    by_ino[static_cast<int64_t>(tree.nodes[r].ino)] = r;
    by_ino[1] = 0;
  }

  // Parents: they must exist and be directories; names must be unique within a directory.
  for (size_t i = 1; i < tree.nodes.size(); ++i) {
    Node& n = tree.nodes[i];
    auto p = by_ino.find(parent_ino[i]);
    std::string where = "inode " + std::to_string(n.ino);
    if (p == by_ino.end())
      return std::unexpected(bad(path, where + " is an orphan (parent " + std::to_string(parent_ino[i]) + " does not exist)"));
    if (!tree.nodes[p->second].is_dir()) return std::unexpected(bad(path, where + " has a parent that is not a directory"));
    n.parent = p->second;
    if (!tree.nodes[p->second].children.emplace(n.name, i).second)
      return std::unexpected(
          bad(path, "two entries named '" + printable(n.name) + "' in one directory (inode " + std::to_string(parent_ino[i]) + ")"));
  }
  // Every node must be reachable from the root; what is not is part of a cycle. From here on
  // the tree is sound and messages can name whole paths.
  size_t reachable = tree.preorder().size();
  if (reachable != tree.nodes.size())
    return std::unexpected(
        bad(path, std::to_string(tree.nodes.size() - reachable) + " inodes are not reachable from the root (a cycle in the tree)"));
  auto shown = [&](const Node* n) { return printable(tree.path_of(static_cast<size_t>(n - tree.nodes.data()))); };

  auto node_of = [&](int64_t ino, const char* table) -> Result<Node*> {
    auto it = by_ino.find(ino);
    if (it == by_ino.end()) return std::unexpected(bad(path, std::string(table) + " row for missing inode " + std::to_string(ino)));
    return &tree.nodes[it->second];
  };

  auto extra = TRY(sql::Stmt::prepare(db, "SELECT ino, data FROM extra"));
  while (TRY(extra.step())) {
    // rfs keeps only symlink targets here and reads them joined to their inode: a row of another
    // inode, or of none, means nothing to it, nor to tiffin.
    auto it = by_ino.find(extra.i64(0));
    if (it == by_ino.end() || !tree.nodes[it->second].is_symlink()) continue;
    Node& n = tree.nodes[it->second];
    n.link = extra.text(1);
    if (n.link.size() > 4096) return std::unexpected(bad(path, "symlink " + shown(&n) + " has a target longer than 4096 bytes"));
  }
  auto blocks = TRY(sql::Stmt::prepare(db, "SELECT ino, id, key FROM block ORDER BY rowid"));
  while (TRY(blocks.step())) {
    Node* n = TRY(node_of(blocks.i64(0), "block"));
    if (!n->is_reg()) return std::unexpected(bad(path, "blocks for " + shown(n) + ", which is not a regular file"));
    n->blocks.push_back({TRY(hash_column(blocks, 1, path, "id")), TRY(hash_column(blocks, 2, path, "key"))});
  }
  // A regular file whose blocks do not cover its size is damaged, not malformed: it stays in the
  // tree as it is (Node::damaged) and only reading its content fails.
  for (const Node& n : tree.nodes)
    if (n.is_symlink() && n.link.empty()) return std::unexpected(bad(path, "symlink " + shown(&n) + " has no target"));

  auto tags = TRY(sql::Stmt::prepare(db, "SELECT key, value FROM tag"));
  while (TRY(tags.step())) tree.tags[tags.text(0)] = tags.text(1);
  auto routes = TRY(sql::Stmt::prepare(db, "SELECT start, end, url FROM route ORDER BY rowid"));
  while (TRY(routes.step())) {
    int64_t s = routes.i64(0), e = routes.i64(1);
    if (!is_int(routes, 0) || !is_int(routes, 1) || s < 0 || e > 255 || s > e)
      return std::unexpected(bad(path, "route with an invalid range"));
    tree.routes.push_back({static_cast<uint8_t>(s), static_cast<uint8_t>(e), routes.text(2)});
  }

  if (db.has_table("tiffin_xattr")) {
    auto x = TRY(sql::Stmt::prepare(db, "SELECT ino, name, value FROM tiffin_xattr ORDER BY rowid"));
    while (TRY(x.step())) {
      Node* n = TRY(node_of(x.i64(0), "tiffin_xattr"));
      auto v = x.blob(2);
      std::string name = x.text(1);
      if (name.empty() || name.size() > 255 || v.size() > kMaxXattrValue)
        return std::unexpected(bad(path, "invalid extended attribute on " + shown(n)));
      n->xattrs.push_back({name, Bytes(v.begin(), v.end())});
    }
  }
  if (db.has_table("tiffin_hardlink")) {
    auto h = TRY(sql::Stmt::prepare(db, "SELECT ino, target FROM tiffin_hardlink"));
    while (TRY(h.step())) {
      Node* n = TRY(node_of(h.i64(0), "tiffin_hardlink"));
      Node* t = TRY(node_of(h.i64(1), "tiffin_hardlink"));
      if (!n->is_reg() || !t->is_reg()) return std::unexpected(bad(path, "hard link " + shown(n) + " between non-regular files"));
      if (n == t || n->mode != t->mode || n->blocks != t->blocks)
        return std::unexpected(bad(path, "hard link " + shown(n) + " differs from its target"));
      n->hardlink = by_ino[h.i64(1)];
    }
    for (const Node& n : tree.nodes)
      if (n.hardlink && tree.nodes[*n.hardlink].hardlink) return std::unexpected(bad(path, "hard link " + shown(&n) + " to a hard link"));
  }
  if (db.has_table("tiffin_config")) {
    auto c = TRY(sql::Stmt::prepare(db, "SELECT value FROM tiffin_config WHERE key = 'image'"));
    if (TRY(c.step())) tree.config = TRY_CTX(image_config_from_json(c.text(0)), path);
  }
  if (db.has_table("tiffin_signature")) {
    auto s = TRY(sql::Stmt::prepare(db, "SELECT public_key, signature FROM tiffin_signature ORDER BY public_key"));
    while (TRY(s.step())) {
      auto pk = s.blob(0), sig = s.blob(1);
      tree.signatures.push_back({Bytes(pk.begin(), pk.end()), Bytes(sig.begin(), sig.end())});
    }
  }
  if (db.has_table(schema::kProfileTable)) {
    // Advisory: malformed rows are refused like any other table's, but ids the tree does not
    // use (or repeats) only drop out; save_flist writes the profile back without them.
    auto p = TRY(sql::Stmt::prepare(db, "SELECT id FROM tiffin_profile ORDER BY seq"));
    std::vector<Hash> ids;
    while (TRY(p.step())) {
      if (ids.size() == kMaxProfileIds) return std::unexpected(bad(path, "tiffin_profile holds more than 1000000 ids"));
      auto b = p.blob(0);
      if (p.type(0) != SQLITE_BLOB || b.size() != 32)
        return std::unexpected(bad(path, "tiffin_profile holds an id that is not a 32-byte blob"));
      Hash h;
      std::copy(b.begin(), b.end(), h.begin());
      ids.push_back(h);
    }
    tree.profile = profile_in_tree(tree, ids);
  }
  return tree;
}

// An insert into one of tiffin's extension tables, which is created with its first row: a tree
// that does not use an extension is written without its table, as rfs would write it.
class ExtensionInsert {
 public:
  ExtensionInsert(sql::Db& db, const char* create, std::string insert) : db_(db), create_(create), insert_(std::move(insert)) {}
  Result<sql::Stmt*> stmt() {
    if (!stmt_) {
      TRY(db_.exec(create_));
      stmt_ = TRY(sql::Stmt::prepare(db_, insert_));
    }
    return &*stmt_;
  }

 private:
  sql::Db& db_;
  const char* create_;
  std::string insert_;
  std::optional<sql::Stmt> stmt_;
};

}  // namespace

Result<Tree> load_flist(const std::string& path) {
  auto tree = read_flist(path);
  // SQLite's "database disk image is malformed" (Errc::corrupt) is a bad file like any other.
  if (!tree && tree.error().kind == Errc::corrupt) tree.error().kind = Errc::invalid_input;
  return tree;
}

Result<void> save_flist(const std::string& path, const Tree& tree) {
  std::filesystem::path target(path);
  std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::string tmp = dir + "/." + target.filename().string() + ".tmp" + std::to_string(std::random_device{}());
  auto cleanup = [&] { ::unlink(tmp.c_str()); };

  auto write = [&]() -> Result<void> {
    sql::Db db = TRY(sql::Db::open_readwrite(tmp, true));
    TRY(db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"));
    TRY(db.exec(schema::kRfs));
    TRY(db.exec("BEGIN"));
    auto ins_inode = TRY(sql::Stmt::prepare(
        db, "INSERT INTO inode (ino, parent, name, size, uid, gid, mode, rdev, ctime, mtime) VALUES (?,?,?,?,?,?,?,?,?,?)"));
    auto ins_extra = TRY(sql::Stmt::prepare(db, "INSERT INTO extra (ino, data) VALUES (?,?)"));
    auto ins_block = TRY(sql::Stmt::prepare(db, "INSERT INTO block (ino, id, key) VALUES (?,?,?)"));
    ExtensionInsert ins_xattr(db, schema::kXattr, "INSERT INTO tiffin_xattr (ino, name, value) VALUES (?,?,?)");
    ExtensionInsert ins_link(db, schema::kHardlink, "INSERT INTO tiffin_hardlink (ino, target) VALUES (?,?)");

    std::vector<size_t> order = tree.preorder();
    std::vector<int64_t> ino_of(tree.nodes.size(), 0);
    for (size_t i = 0; i < order.size(); ++i) ino_of[order[i]] = static_cast<int64_t>(i + 1);
    // A hard link group is written as its first member in pre-order plus links to it, whichever
    // member the tree named as the target (that one may even have been removed by a merge).
    std::unordered_map<size_t, int64_t> group_primary;
    for (size_t idx : order) {
      const Node& n = tree.nodes[idx];
      int64_t ino = ino_of[idx];
      ins_inode.bind(1, ino)
          .bind(2, idx == Tree::kRoot ? 0 : ino_of[n.parent])
          .bind(3, idx == Tree::kRoot ? std::string("/") : n.name)
          .bind(4, static_cast<int64_t>(n.size))
          .bind(5, n.uid)
          .bind(6, n.gid)
          .bind(7, n.mode)
          .bind(8, static_cast<int64_t>(n.rdev))
          .bind(9, n.ctime)
          .bind(10, n.mtime);
      TRY(ins_inode.run());
      if (n.is_symlink()) TRY(ins_extra.bind(1, ino).bind(2, n.link).run());
      for (const auto& b : n.blocks) TRY(ins_block.bind(1, ino).bind_blob(2, b.id).bind_blob(3, b.key).run());
      for (const auto& x : n.xattrs) TRY(TRY(ins_xattr.stmt())->bind(1, ino).bind(2, x.name).bind_blob(3, x.value).run());
      if (n.is_reg()) {
        size_t group = n.hardlink.value_or(idx);
        auto [it, first] = group_primary.emplace(group, ino);
        if (!first) TRY(TRY(ins_link.stmt())->bind(1, ino).bind(2, it->second).run());
      }
    }
    auto ins_tag = TRY(sql::Stmt::prepare(db, "INSERT INTO tag (key, value) VALUES (?,?)"));
    for (const auto& [k, v] : tree.tags) TRY(ins_tag.bind(1, k).bind(2, v).run());
    auto ins_route = TRY(sql::Stmt::prepare(db, "INSERT INTO route (start, end, url) VALUES (?,?,?)"));
    for (const auto& r : tree.routes) TRY(ins_route.bind(1, r.start).bind(2, r.end).bind(3, r.url).run());
    if (tree.config) {
      ExtensionInsert ins_cfg(db, schema::kConfig, "INSERT INTO tiffin_config (key, value) VALUES ('image', ?)");
      TRY(TRY(ins_cfg.stmt())->bind(1, image_config_to_json(*tree.config)).run());
    }
    ExtensionInsert ins_sig(db, schema::kSignature, std::string(schema::kInsertSignature));
    for (const auto& s : tree.signatures) TRY(TRY(ins_sig.stmt())->bind_blob(1, s.public_key).bind_blob(2, s.signature).run());
    ExtensionInsert ins_profile(db, schema::kProfile, std::string(schema::kInsertProfile));
    int64_t seq = 0;
    for (const Hash& id : profile_in_tree(tree, tree.profile)) TRY(TRY(ins_profile.stmt())->bind(1, seq++).bind_blob(2, id).run());
    TRY(db.exec("COMMIT"));
    return {};
  };
  if (auto r = write(); !r) {
    cleanup();
    return std::unexpected(r.error().context("writing " + path));
  }
  UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) < 0) {
    cleanup();
    return fail_errno("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    cleanup();
    return fail_errno("rename to " + path, e);
  }
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
  return {};
}

}  // namespace tiffin
