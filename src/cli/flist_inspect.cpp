// tiffin flist inspect | ls | tree | stat | cat | config — reading an flist without unpacking it.
#include <fmt/core.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "common/fd.hpp"
#include "common/progress.hpp"
#include "flist/content.hpp"
#include "flist/flist_file.hpp"

namespace tiffin::cli {
namespace {

std::string mode_string(uint32_t mode) {
  std::string s = "?---------";
  switch (mode & S_IFMT) {
    case S_IFREG: s[0] = '-'; break;
    case S_IFDIR: s[0] = 'd'; break;
    case S_IFLNK: s[0] = 'l'; break;
    case S_IFCHR: s[0] = 'c'; break;
    case S_IFBLK: s[0] = 'b'; break;
    case S_IFIFO: s[0] = 'p'; break;
    case S_IFSOCK: s[0] = 's'; break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (mode & (1u << (8 - i))) s[1 + i] = rwx[i];
  if (mode & S_ISUID) s[3] = (mode & S_IXUSR) ? 's' : 'S';
  if (mode & S_ISGID) s[6] = (mode & S_IXGRP) ? 's' : 'S';
  if (mode & S_ISVTX) s[9] = (mode & S_IXOTH) ? 't' : 'T';
  return s;
}

std::string time_string(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

nlohmann::json node_json(const Tree& tree, size_t idx) {
  const Node& n = tree.nodes[idx];
  nlohmann::json j = {{"path", tree.path_of(idx)}, {"ino", n.ino}, {"mode", n.mode}, {"type", mode_string(n.mode).substr(0, 1)},
      {"uid", n.uid}, {"gid", n.gid}, {"size", n.size}, {"mtime", n.mtime}, {"ctime", n.ctime}};
  if (n.is_symlink()) j["target"] = n.link;
  if (n.rdev) j["rdev"] = {major(n.rdev), minor(n.rdev)};
  if (n.hardlink) j["hardlink"] = tree.path_of(*n.hardlink);
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : n.blocks) blocks.push_back({{"id", to_hex(b.id)}, {"key", to_hex(b.key)}});
  if (n.is_reg()) j["blocks"] = blocks;
  nlohmann::json xattrs = nlohmann::json::object();
  for (const auto& x : n.xattrs) xattrs[x.name] = to_hex(x.value);
  if (!n.xattrs.empty()) j["xattrs"] = xattrs;
  return j;
}

std::string long_line(const Tree& tree, size_t idx, const std::string& name) {
  const Node& n = tree.nodes[idx];
  std::string size =
      (n.type() == S_IFCHR || n.type() == S_IFBLK) ? fmt::format("{}, {}", major(n.rdev), minor(n.rdev)) : std::to_string(n.size);
  std::string line = fmt::format("{} {:>5} {:>5} {:>10} {} {}", mode_string(n.mode), n.uid, n.gid, size, time_string(n.mtime), name);
  if (n.is_symlink()) line += " -> " + n.link;
  return line;
}

}  // namespace

void add_flist_inspect(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string flist, path = "/", format;
    std::vector<std::string> stores;
    bool long_format = false, recursive = false;
  };
  auto o = std::make_shared<Opts>();

  CLI::App* in = flist.add_subcommand("inspect", "Summarise an flist: entries, size, blocks, tags, routes, signatures, prefetch profile");
  in->add_option("flist", o->flist)->required();
  in->add_option("--format", o->format, "json for machine-readable output");
  in->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      uint64_t files = 0, dirs = 0, links = 0, bytes = 0;
      for (size_t i : tree.preorder()) {
        const Node& n = tree.nodes[i];
        files += n.is_reg();
        dirs += n.is_dir();
        links += n.is_symlink();
        if (n.is_reg()) bytes += n.size;
      }
      nlohmann::json routes = nlohmann::json::array();
      for (const auto& r : tree.routes) routes.push_back(fmt::format("{:02x}-{:02x}={}", r.start, r.end, r.url));
      nlohmann::json j{{"entries", tree.preorder().size()}, {"files", files}, {"directories", dirs}, {"symlinks", links}, {"size", bytes},
          {"blocks", tree.block_ids().size()}, {"damaged", tree.damaged_files().size()}, {"tags", tree.tags}, {"routes", routes},
          {"signatures", tree.signatures.size()}, {"config", tree.config.has_value()}, {"profile_blocks", tree.profile.size()}};
      if (want_json(o->format)) {
        print_json(j);
        return 0;
      }
      fmt::print("entries:    {} ({} files, {} directories, {} symlinks)\n", j["entries"].get<uint64_t>(), files, dirs, links);
      fmt::print("size:       {} in {} blocks\n", human_bytes(bytes), tree.block_ids().size());
      if (!tree.damaged_files().empty()) fmt::print("damaged:    {} files\n", tree.damaged_files().size());
      for (const auto& [k, v] : tree.tags) fmt::print("tag:        {}={}\n", k, v);
      for (const auto& r : routes) fmt::print("route:      {}\n", r.get<std::string>());
      fmt::print("config:     {}\n", tree.config ? "yes" : "no");
      fmt::print("signatures: {}\n", tree.signatures.size());
      fmt::print("profile:    {}\n", tree.profile.empty() ? "none" : fmt::format("{} blocks", tree.profile.size()));
      return 0;
    });
  });

  CLI::App* ls = flist.add_subcommand("ls", "List a directory of an flist");
  ls->add_option("flist", o->flist)->required();
  ls->add_option("path", o->path, "Directory or file inside the flist (default /)");
  ls->add_flag("-l,--long", o->long_format, "Mode, owner, size and time");
  ls->add_flag("-R,--recursive", o->recursive, "List subdirectories too");
  ls->add_option("--format", o->format, "json for machine-readable output");
  ls->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      size_t idx = TRY(resolve(tree, o->path, true));
      std::vector<size_t> list;
      if (!tree.nodes[idx].is_dir()) list.push_back(idx);
      else if (o->recursive) {
        for (size_t i : tree.preorder()) {
          if (i == Tree::kRoot && idx != Tree::kRoot) continue;
          for (size_t p = i; p != Tree::kRoot; p = tree.nodes[p].parent)
            if (tree.nodes[p].parent == idx) {
              list.push_back(i);
              break;
            }
        }
      } else {
        for (const auto& [name, c] : tree.nodes[idx].children) list.push_back(c);
      }
      if (want_json(o->format)) {
        nlohmann::json arr = nlohmann::json::array();
        for (size_t i : list) arr.push_back(node_json(tree, i));
        print_json(arr);
        return 0;
      }
      for (size_t i : list) {
        std::string name = o->recursive ? tree.path_of(i) : tree.nodes[i].name;
        fmt::print("{}\n", o->long_format ? long_line(tree, i, name) : name);
      }
      return 0;
    });
  });

  CLI::App* tr = flist.add_subcommand("tree", "Print an flist's tree");
  tr->add_option("flist", o->flist)->required();
  tr->add_option("path", o->path, "Subtree to print (default /)");
  tr->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      size_t start = TRY(resolve(tree, o->path, true));
      fmt::print("{}\n", tree.path_of(start));
      std::function<void(size_t, const std::string&)> print = [&](size_t idx, const std::string& prefix) {
        const auto& ch = tree.nodes[idx].children;
        size_t k = 0;
        for (const auto& [name, c] : ch) {
          bool last = ++k == ch.size();
          const Node& n = tree.nodes[c];
          fmt::print("{}{}{}{}\n", prefix, last ? "└── " : "├── ", name, n.is_symlink() ? " -> " + n.link : "");
          if (n.is_dir()) print(c, prefix + (last ? "    " : "│   "));
        }
      };
      print(start, "");
      return 0;
    });
  });

  CLI::App* st = flist.add_subcommand("stat", "Show one entry's metadata and blocks");
  st->add_option("flist", o->flist)->required();
  st->add_option("path", o->path)->required();
  st->add_option("--format", o->format, "json for machine-readable output");
  st->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      size_t idx = TRY(resolve(tree, o->path, false));
      nlohmann::json j = node_json(tree, idx);
      if (want_json(o->format)) {
        print_json(j);
        return 0;
      }
      const Node& n = tree.nodes[idx];
      fmt::print("  path: {}\n   ino: {}\n  mode: {} ({:o})\n owner: {}:{}\n  size: {}\n mtime: {} ({})\n ctime: {}\n", tree.path_of(idx),
          n.ino, mode_string(n.mode), n.mode, n.uid, n.gid, n.size, n.mtime, time_string(n.mtime), n.ctime);
      if (n.is_symlink()) fmt::print("target: {}\n", n.link);
      if (n.rdev) fmt::print("  rdev: {}, {}\n", major(n.rdev), minor(n.rdev));
      if (n.hardlink) fmt::print("  link: {}\n", tree.path_of(*n.hardlink));
      for (const auto& x : n.xattrs) fmt::print(" xattr: {} = {}\n", x.name, to_hex(x.value));
      for (const auto& b : n.blocks) fmt::print(" block: {} key {}\n", to_hex(b.id), to_hex(b.key));
      return 0;
    });
  });

  CLI::App* cat = flist.add_subcommand("cat", "Print a file's content, read through the stores");
  cat->add_option("flist", o->flist)->required();
  cat->add_option("path", o->path)->required();
  cat->add_option("-s,--store", o->stores, "Read blocks from these stores instead of the flist's routes");
  cat->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      size_t idx = TRY(resolve(tree, o->path, true));
      if (!tree.nodes[idx].is_reg()) return fail(Errc::invalid_input, o->path + " is not a regular file");
      if (tree.nodes[idx].damaged()) return fail(Errc::corrupt, tree.describe_damage(idx) + "; its content cannot be read");
      auto router = TRY(stores_for(tree, o->stores));
      TRY_CTX(read_blocks(tree.nodes[idx].blocks, *router, [](std::span<const uint8_t> chunk) { return write_all(STDOUT_FILENO, chunk); }),
          o->path);
      return 0;
    });
  });

  CLI::App* cfg = flist.add_subcommand("config", "Show the image config (tiffin's, or 0-hub's /.startup.toml)");
  cfg->add_option("flist", o->flist)->required();
  cfg->add_option("-s,--store", o->stores, "Stores to read /.startup.toml through");
  cfg->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      std::shared_ptr<Router> router;
      if (!tree.config && (!o->stores.empty() || !tree.routes.empty())) router = TRY(stores_for(tree, o->stores));
      auto c = TRY(image_config(tree, router.get()));
      if (!c) return fail(Errc::not_found, o->flist + " has no image config");
      print_json(nlohmann::json::parse(image_config_to_json(*c)));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
