#include "snapshotter/snapshot_filter.hpp"

namespace tiffin::snapshotter {
namespace {

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Result<SnapshotFilter> parse() {
    SnapshotFilter f;
    skip_space();
    if (done()) return fail(Errc::invalid_input, "filter: empty expression");
    while (true) {
      f.all_of.push_back(TRY(selector()));
      skip_space();
      if (done()) return f;
      if (s_[i_] != ',') return bad("expected ','");
      ++i_;
      skip_space();
    }
  }

 private:
  Result<Selector> selector() {
    Selector sel;
    sel.path.push_back(TRY(field()));
    while (!done() && s_[i_] == '.') {
      ++i_;
      sel.path.push_back(TRY(field()));
    }
    skip_space();
    if (done() || s_[i_] == ',') return sel;
    std::string_view rest = std::string_view(s_).substr(i_);
    if (rest.starts_with("==")) sel.op = Selector::Op::equal;
    else if (rest.starts_with("!=")) sel.op = Selector::Op::not_equal;
    else if (rest.starts_with("~=")) sel.op = Selector::Op::matches;
    else return bad("expected an operator (==, !=, ~=)");
    i_ += 2;
    skip_space();
    sel.value = TRY(value());
    if (sel.op == Selector::Op::matches) {
      re2::RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_shared<const re2::RE2>(sel.value, options);
      if (!re->ok()) return bad("bad regular expression: " + re->error());
      sel.pattern = std::move(re);
    }
    return sel;
  }

  // A bare field ([A-Za-z][A-Za-z0-9_]*) or a quoted one (labels."a.b/c").
  Result<std::string> field() {
    if (!done() && (s_[i_] == '"' || s_[i_] == '`')) return quoted();
    size_t start = i_;
    while (!done() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
    if (i_ == start || !std::isalpha(static_cast<unsigned char>(s_[start]))) return bad("expected a field name");
    return s_.substr(start, i_ - start);
  }

  // A quoted string, or everything up to a ',' or a space.
  Result<std::string> value() {
    if (!done() && (s_[i_] == '"' || s_[i_] == '`' || s_[i_] == '/')) return quoted();
    size_t start = i_;
    while (!done() && s_[i_] != ',' && !std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ == start) return bad("expected a value");
    return s_.substr(start, i_ - start);
  }

  // "…" with Go's common escapes, `…` and /…/ raw (containerd writes regular expressions so).
  Result<std::string> quoted() {
    char q = s_[i_++];
    std::string out;
    while (!done() && s_[i_] != q) {
      char c = s_[i_++];
      if (c == '\\' && q != '`') {
        if (done()) break;
        char e = s_[i_++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case '\\': out += '\\'; break;
          case '"': out += '"'; break;
          case '/': out += '/'; break;
          default:
            if (q == '/') out += '\\';  // a regular expression keeps its own escapes
            out += e;
        }
        continue;
      }
      out += c;
    }
    if (done()) return bad("unterminated quoted string");
    ++i_;
    return out;
  }

  void skip_space() {
    while (!done() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool done() const { return i_ >= s_.size(); }
  std::unexpected<Error> bad(const std::string& what) const {
    return fail(Errc::invalid_input, "filter " + s_ + ": " + what + " at column " + std::to_string(i_ + 1));
  }

  const std::string& s_;
  size_t i_ = 0;
};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::view: return "view";
    case Kind::active: return "active";
    case Kind::committed: return "committed";
  }
  return "unknown";
}

// The field's value, or nullopt when the snapshot has no such field.
std::optional<std::string> field_value(const Snapshot& s, const std::vector<std::string>& path) {
  if (path.size() == 1) {
    if (path[0] == "name") return s.name;
    if (path[0] == "parent") return s.parent;
    if (path[0] == "kind") return std::string(kind_name(s.kind));
    return std::nullopt;
  }
  if (path[0] != "labels") return std::nullopt;
  std::string key = path[1];
  for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];  // labels.a.b is the label "a.b"
  auto it = s.labels.find(key);
  if (it == s.labels.end()) return std::nullopt;
  return it->second;
}

}  // namespace

bool SnapshotFilter::matches(const Snapshot& s) const {
  for (const auto& sel : all_of) {
    auto v = field_value(s, sel.path);
    switch (sel.op) {
      case Selector::Op::present:
        if (!v) return false;
        break;
      case Selector::Op::equal:
        if (!v || *v != sel.value) return false;
        break;
      case Selector::Op::not_equal:
        if (v && *v == sel.value) return false;
        break;
      case Selector::Op::matches:
        if (!v || !re2::RE2::PartialMatch(*v, *sel.pattern)) return false;
        break;
    }
  }
  return true;
}

Result<SnapshotFilter> parse_snapshot_filter(const std::string& text) { return Parser(text).parse(); }

Result<std::vector<SnapshotFilter>> parse_snapshot_filters(const std::vector<std::string>& filters) {
  std::vector<SnapshotFilter> out;
  for (const auto& f : filters) out.push_back(TRY(parse_snapshot_filter(f)));
  return out;
}

bool matches_any(const std::vector<SnapshotFilter>& filters, const Snapshot& s) {
  if (filters.empty()) return true;
  for (const auto& f : filters)
    if (f.matches(s)) return true;
  return false;
}

}  // namespace tiffin::snapshotter
