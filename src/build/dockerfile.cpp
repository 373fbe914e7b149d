#include "build/dockerfile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "common/text.hpp"

namespace tiffin::build {
namespace {

// ---- Text ----------------------------------------------------------------------------------

// Whitespace between words: buildkit splits on [\t\v\f\r ] and Go's unicode.IsSpace, which agree
// on ASCII (a line holds no '\n').
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

size_t skip_spaces(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return a.size() == b.size() && lower(a) == lower(b); }

// ---- Lines and positions -------------------------------------------------------------------

struct PhysicalLine {
  int number = 0;
  std::string_view text;  // without its line ending (every trailing '\r' and '\n', as buildkit trims)
  std::string_view raw;   // with it: heredoc content keeps line endings as written
};

std::vector<PhysicalLine> split_lines(std::string_view text) {
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (text.starts_with(bom)) text.remove_prefix(bom.size());
  std::vector<PhysicalLine> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1);
    std::string_view bare = raw;
    while (!bare.empty() && (bare.back() == '\n' || bare.back() == '\r')) bare.remove_suffix(1);
    lines.push_back({static_cast<int>(lines.size()) + 1, bare, raw});
    text.remove_prefix(raw.size());
  }
  return lines;
}

struct Pos {
  int line = 1, column = 1;
};

// 1-based column of byte `at` of a physical line, in code points.
int column_of(std::string_view line, size_t at) {
  int column = 1;
  for (size_t i = 0; i < at && i < line.size(); ++i)
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++column;
  return column;
}

std::unexpected<Error> fail_at(Pos p, const std::string& what) {
  return fail(Errc::invalid_input, fmt::format("Dockerfile:{}:{}: {}", p.line, p.column, what));
}

// An instruction's text after joining its continuation lines, with a map from each byte back to
// the physical line and column it came from, so errors can point into the file.
class LogicalLine {
 public:
  void append(std::string_view piece, const PhysicalLine& from, size_t offset_in_line) {
    segments_.push_back({text_.size(), from.number, from.text, offset_in_line});
    text_ += piece;
  }
  const std::string& text() const { return text_; }
  Pos pos(size_t offset) const {
    auto after = std::upper_bound(segments_.begin(), segments_.end(), offset, [](size_t o, const Segment& s) { return o < s.begin; });
    const Segment& s = after == segments_.begin() ? segments_.front() : *std::prev(after);
    return {s.line, column_of(s.physical, s.offset + (offset - s.begin))};
  }

 private:
  struct Segment {
    size_t begin;  // in text_
    int line;
    std::string_view physical;
    size_t offset;  // where the piece starts in `physical`
  };
  std::string text_;
  std::vector<Segment> segments_;
};

// ---- Parser directives ---------------------------------------------------------------------

// buildkit's ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ (RE2's \s has no \v).
struct DirectiveMatch {
  std::string_view key, value;
};
bool re_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

std::optional<DirectiveMatch> match_directive(std::string_view s) {
  if (s.empty() || s[0] != '#') return std::nullopt;
  size_t i = 1;
  while (i < s.size() && re_space(s[i])) ++i;
  if (i >= s.size() || !is_alpha(s[i])) return std::nullopt;
  size_t key_at = i;
  while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]))) ++i;
  std::string_view key = s.substr(key_at, i - key_at);
  while (i < s.size() && re_space(s[i])) ++i;
  if (i >= s.size() || s[i] != '=') return std::nullopt;
  ++i;
  while (i < s.size() && re_space(s[i])) ++i;
  size_t end = s.size();
  while (end > i && re_space(s[end - 1])) --end;
  if (end == i) return std::nullopt;
  return DirectiveMatch{key, s.substr(i, end - i)};
}

// Directives are looked for on every line until the first that is not one (an instruction, a
// blank line, any other comment, or a directive-looking comment with an unknown key): from then
// on `# escape=x` is a plain comment.
class DirectiveScanner {
 public:
  Directives directives;

  Result<void> see(const PhysicalLine& line, std::string_view s) {
    if (done_) return {};
    auto m = match_directive(s);
    std::string key = m ? lower(m->key) : "";
    if (key != "escape" && key != "syntax" && key != "check") {
      done_ = true;
      return {};
    }
    Pos at{line.number, column_of(line.text, static_cast<size_t>(m->key.data() - line.text.data()))};
    if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) return fail_at(at, "only one " + key + " parser directive can be used");
    seen_.push_back(key);
    if (key == "escape") {
      if (m->value != "\\" && m->value != "`")
        return fail_at({line.number, column_of(line.text, static_cast<size_t>(m->value.data() - line.text.data()))},
            "invalid escape '" + printable(m->value) + "': must be ` or \\");
      directives.escape = m->value[0];
    } else {
      (key == "syntax" ? directives.syntax : directives.check) = std::string(m->value);
    }
    return {};
  }

 private:
  bool done_ = false;
  std::vector<std::string> seen_;
};

// buildkit's continuation rule: the escape as the last non-blank character, unless escaped
// itself ("a \\" is no continuation). Returns the line without it, and where it was (npos: none).
std::pair<std::string_view, size_t> strip_continuation(std::string_view s, char escape) {
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  if (end > 0 && s[end - 1] == escape && (end == 1 || s[end - 2] != escape)) return {s.substr(0, end - 1), end - 1};
  return {s, std::string_view::npos};
}

bool is_comment(std::string_view s) { return trim_left(s).starts_with('#'); }

// ---- Words ---------------------------------------------------------------------------------

struct Word {
  std::string text;
  size_t at = 0;  // offset in the logical line
};

// buildkit's reWhitespace split: no quoting at all (`COPY "a b" c` is three words there too).
std::vector<Word> split_whitespace(std::string_view s, size_t base) {
  std::vector<Word> words;
  for (size_t i = skip_spaces(s, 0); i < s.size(); i = skip_spaces(s, i)) {
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    words.push_back({std::string(s.substr(start, i - start)), base + start});
  }
  return words;
}

// buildkit's parseWords (ENV, LABEL, ARG): whitespace splits words except inside quotes; quotes
// and escapes are kept in the word; an escape protects the next character (in single quotes
// nothing is escaped); an escape ending the text is dropped.
std::vector<Word> parse_words(std::string_view s, size_t base, char escape) {
  std::vector<Word> words;
  size_t i = skip_spaces(s, 0);
  while (i < s.size()) {
    size_t start = i;
    std::string w;
    bool quoted = false;
    while (i < s.size() && !is_space(s[i])) {
      char c = s[i];
      if (c == '\'' || c == '"') {
        quoted = true;
        w += c;
        ++i;
        while (i < s.size()) {
          char d = s[i];
          if (d == c) {
            w += d;
            ++i;
            break;
          }
          if (d == escape && c != '\'') {
            if (i + 1 == s.size()) {
              ++i;
              break;
            }
            w += d;
            d = s[++i];
          }
          w += d;
          ++i;
        }
        continue;
      }
      if (c == escape) {
        if (i + 1 == s.size()) {
          ++i;
          continue;
        }
        w += c;
        c = s[++i];
      }
      w += c;
      ++i;
    }
    if (quoted || !w.empty()) words.push_back({std::move(w), base + start});
    i = skip_spaces(s, i);
  }
  return words;
}

// buildkit's extractBuilderFlags: the leading words that begin with "--", quotes removed and
// `\` (always backslash) escaping; a bare "--" ends them. `rest` is where the arguments begin.
struct FlagWords {
  std::vector<Word> words;
  size_t rest = 0;
};

FlagWords extract_flags(std::string_view s, size_t base) {
  FlagWords out;
  size_t i = 0;
  for (;;) {
    i = skip_spaces(s, i);
    if (i >= s.size() || s[i] != '-' || i + 1 >= s.size() || s[i + 1] != '-') break;
    size_t start = i;
    std::string w;
    bool quoted = false;
    while (i < s.size() && !is_space(s[i])) {
      char c = s[i];
      if (c == '\'' || c == '"') {
        quoted = true;
        for (++i; i < s.size() && s[i] != c; ++i) {
          if (s[i] == '\\' && ++i == s.size()) break;
          w += s[i];
        }
        if (i < s.size()) ++i;
        continue;
      }
      if (c == '\\' && ++i == s.size()) break;
      w += s[i++];
    }
    if (w == "--") {
      out.rest = base + i;
      return out;
    }
    if (quoted || !w.empty()) out.words.push_back({std::move(w), base + start});
  }
  out.rest = base + i;
  return out;
}

// The words of a line as buildkit's shell lexer splits them for finding heredoc markers (raw:
// quotes and escapes kept, escape always `\`). nullopt for an unterminated quote: such a line
// has no heredocs.
std::optional<std::vector<Word>> shell_words(std::string_view s) {
  std::vector<Word> words;
  size_t i = skip_spaces(s, 0);
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) {
      char c = s[i];
      if (c == '\'') {
        size_t close = s.find('\'', i + 1);
        if (close == std::string_view::npos) return std::nullopt;
        i = close + 1;
      } else if (c == '"') {
        size_t j = i + 1;
        for (; j < s.size() && s[j] != '"'; ++j)
          if (s[j] == '\\') ++j;
        if (j >= s.size()) return std::nullopt;
        i = j + 1;
      } else {
        i += (c == '\\' && i + 1 < s.size()) ? 2 : 1;
      }
    }
    words.push_back({std::string(s.substr(start, i - start)), start});
    i = skip_spaces(s, i);
  }
  return words;
}

// A heredoc marker word, buildkit's ^(\d*)<<(-?)([^<]*)$ with the delimiter unquoted: quoting
// any part of it (`<<"EOF"`, `<<'EOF'`, `<<E"O"F`) means the content is not expanded.
struct Marker {
  std::string name;
  bool expand = true;
  bool strip_tabs = false;
  unsigned fd = 0;
};

std::optional<std::string> unquote_delimiter(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\'') {
      size_t close = s.find('\'', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      out += s.substr(i + 1, close - i - 1);
      i = close;
    } else if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$')) ++i;
        out += s[i];
      }
      if (i >= s.size()) return std::nullopt;
    } else if (c == '\\') {
      if (i + 1 < s.size()) out += s[++i];
    } else if (is_space(c)) {
      return std::nullopt;  // more than one word
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<Marker> parse_marker(std::string_view w) {
  size_t i = 0;
  while (i < w.size() && is_digit(w[i])) ++i;
  if (w.substr(i, 2) != "<<") return std::nullopt;
  Marker m;
  m.fd = parse_uint<unsigned>(w.substr(0, i)).value_or(0);
  i += 2;
  if (i < w.size() && w[i] == '-') {
    m.strip_tabs = true;
    ++i;
  }
  std::string_view rest = w.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return std::nullopt;
  auto name = unquote_delimiter(rest);
  if (!name || name->empty()) return std::nullopt;
  auto quotes = [](std::string_view s) { return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"'); };
  m.expand = quotes(*name) == quotes(rest);
  m.name = std::move(*name);
  return m;
}

// ---- JSON form -----------------------------------------------------------------------------

// A JSON array of strings, read with nlohmann's SAX interface so that no document is built
// (deep nesting in hostile input costs nothing). Like Go's json.Unmarshal into []interface{}:
// valid JSON that is an array with something other than a string in it is told apart from
// invalid JSON, which docker takes as the shell form. (Go accepts invalid UTF-8 in strings,
// nlohmann does not: such a line is the shell form here.)
class StringArraySax {
 public:
  using json = nlohmann::json;
  std::vector<std::string> strings;
  bool only_strings = true;

  bool null() { return other(); }
  bool boolean(bool) { return other(); }
  bool number_integer(json::number_integer_t) { return other(); }
  bool number_unsigned(json::number_unsigned_t) { return other(); }
  bool number_float(json::number_float_t, const json::string_t&) { return other(); }
  bool binary(json::binary_t&) { return other(); }
  bool string(json::string_t& s) {
    if (depth_ == 1) strings.push_back(std::move(s));
    return true;
  }
  bool start_object(std::size_t) {
    other();
    ++depth_;
    return true;
  }
  bool key(json::string_t&) { return true; }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    other();
    ++depth_;
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  bool other() {
    if (depth_ == 1) only_strings = false;
    return true;
  }
  int depth_ = 0;
};

enum class JsonArray { not_json, strings, other };

JsonArray parse_json_array(std::string_view s, std::vector<std::string>& out) {
  if (!s.starts_with('[')) return JsonArray::not_json;
  StringArraySax sax;
  if (!nlohmann::json::sax_parse(s.begin(), s.end(), &sax, nlohmann::json::input_format_t::json, true)) return JsonArray::not_json;
  if (!sax.only_strings) return JsonArray::other;
  out = std::move(sax.strings);
  return JsonArray::strings;
}

// ---- Go durations (HEALTHCHECK) ------------------------------------------------------------

// Go's time.ParseDuration: [-+]? then one or more (decimal number, unit); "0" alone is allowed.
std::optional<int64_t> parse_go_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  constexpr uint64_t limit = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    uint64_t whole = 0, frac = 0, scale = 1;
    size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (whole > (limit - 9) / 10) return std::nullopt;
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    bool digits = i > 0;
    if (i < s.size() && s[i] == '.') {
      size_t f = ++i;
      for (; i < s.size() && is_digit(s[i]); ++i)
        if (scale < limit / 10) {  // further digits are below a nanosecond's precision anyway
          frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
          scale *= 10;
        }
      digits = digits || i > f;
    }
    if (!digits) return std::nullopt;
    size_t u = i;
    while (i < s.size() && s[i] != '.' && !is_digit(s[i])) ++i;
    std::string_view unit = s.substr(u, i - u);
    uint64_t ns = 0;
    if (unit == "ns") ns = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") ns = 1'000;
    else if (unit == "ms") ns = 1'000'000;
    else if (unit == "s") ns = 1'000'000'000;
    else if (unit == "m") ns = 60'000'000'000;
    else if (unit == "h") ns = 3'600'000'000'000;
    else return std::nullopt;
    if (whole > limit / ns) return std::nullopt;
    uint64_t v = whole * ns + static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(ns) / static_cast<double>(scale)));
    if (v > limit || total > limit - v) return std::nullopt;
    total += v;
    s.remove_prefix(i);
  }
  if (!negative && total > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - total) : static_cast<int64_t>(total);
}

// ---- Instructions --------------------------------------------------------------------------

struct KindName {
  std::string_view keyword;
  Kind kind;
};
constexpr KindName kKinds[] = {
    {"FROM", Kind::from},
    {"RUN", Kind::run},
    {"CMD", Kind::cmd},
    {"ENTRYPOINT", Kind::entrypoint},
    {"SHELL", Kind::shell},
    {"COPY", Kind::copy},
    {"ADD", Kind::add},
    {"ENV", Kind::env},
    {"ARG", Kind::arg},
    {"LABEL", Kind::label},
    {"WORKDIR", Kind::workdir},
    {"USER", Kind::user},
    {"EXPOSE", Kind::expose},
    {"VOLUME", Kind::volume},
    {"STOPSIGNAL", Kind::stopsignal},
    {"HEALTHCHECK", Kind::healthcheck},
    {"ONBUILD", Kind::onbuild},
    {"MAINTAINER", Kind::maintainer},
};

std::optional<Kind> kind_of(std::string_view keyword) {
  for (const auto& k : kKinds)
    if (iequals(k.keyword, keyword)) return k.kind;
  return std::nullopt;
}

enum class FlagType { boolean, string, strings };  // strings: may repeat
struct FlagSpec {
  std::string_view name;
  FlagType type;
};

// The flags buildkit's instructions accept (without its -labs ones).
std::span<const FlagSpec> flags_of(Kind k) {
  static constexpr FlagSpec from[] = {{"platform", FlagType::string}};
  static constexpr FlagSpec run[] = {{"mount", FlagType::strings}, {"network", FlagType::string}, {"security", FlagType::string}};
  static constexpr FlagSpec copy[] = {{"from", FlagType::string}, {"chown", FlagType::string}, {"chmod", FlagType::string},
      {"link", FlagType::boolean}, {"parents", FlagType::boolean}, {"exclude", FlagType::strings}};
  static constexpr FlagSpec add[] = {{"chown", FlagType::string}, {"chmod", FlagType::string}, {"link", FlagType::boolean},
      {"keep-git-dir", FlagType::boolean}, {"checksum", FlagType::string}, {"unpack", FlagType::boolean}, {"exclude", FlagType::strings}};
  static constexpr FlagSpec health[] = {{"interval", FlagType::string}, {"timeout", FlagType::string}, {"start-period", FlagType::string},
      {"start-interval", FlagType::string}, {"retries", FlagType::string}};
  switch (k) {
    case Kind::from: return from;
    case Kind::run: return run;
    case Kind::copy: return copy;
    case Kind::add: return add;
    case Kind::healthcheck: return health;
    default: return {};
  }
}

// What one logical line's parsing has at hand.
struct Ctx {
  const LogicalLine& line;
  char escape;
  Pos pos(size_t offset) const { return line.pos(offset); }
  std::unexpected<Error> fail(size_t offset, const std::string& what) const { return fail_at(pos(offset), what); }
};

// An instruction with what the stage assembly needs to point at.
struct Parsed {
  Instruction ins;
  size_t keyword_at = 0;
  size_t stage_name_at = std::string_view::npos;  // FROM ... AS <name>
};

Result<std::vector<Flag>> check_flags(const Ctx& c, const Parsed& p, const std::vector<Word>& words) {
  const std::string& kw = p.ins.keyword;
  auto specs = flags_of(p.ins.kind);
  std::vector<Flag> flags;
  for (const Word& w : words) {
    std::string_view body = std::string_view(w.text).substr(2);
    size_t eq = body.find('=');
    std::string name(body.substr(0, eq));
    bool has_value = eq != std::string_view::npos;
    std::string value(has_value ? body.substr(eq + 1) : "");
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) return c.fail(w.at, "unknown flag --" + printable(name) + " for " + kw);
    bool repeated = std::any_of(flags.begin(), flags.end(), [&](const Flag& f) { return f.name == name; });
    if (repeated && spec->type != FlagType::strings) return c.fail(w.at, "--" + name + " is given twice");
    if (spec->type == FlagType::boolean) {
      std::string v = lower(value);
      if (has_value && value.empty()) return c.fail(w.at, "missing a value on flag --" + name);
      if (v.empty() || v == "true") value = "true";
      else if (v == "false") value = "false";
      else return c.fail(w.at, "--" + name + " is true or false, not '" + printable(value) + "'");
    } else if (!has_value) {
      return c.fail(w.at, "missing a value on flag --" + name + " (--" + name + "=VALUE)");
    }
    Pos at = c.pos(w.at);
    flags.push_back({std::move(name), std::move(value), at.line, at.column});
  }
  return flags;
}

// RUN, CMD, ENTRYPOINT, SHELL (and HEALTHCHECK CMD): a JSON array of strings or the command line.
Result<void> maybe_json(const Ctx& c, Instruction& ins, std::string_view rest, size_t at) {
  if (rest.empty()) return {};
  switch (parse_json_array(rest, ins.args)) {
    case JsonArray::strings: ins.exec_form = true; return {};
    case JsonArray::other: return c.fail(at, "when using JSON array syntax, arrays must be comprised of strings only");
    case JsonArray::not_json: ins.args = {std::string(rest)}; return {};
  }
  return {};
}

// COPY, ADD, VOLUME: a JSON array of strings or whitespace-separated words.
Result<std::vector<Word>> maybe_json_list(const Ctx& c, Instruction& ins, std::string_view rest, size_t at) {
  std::vector<std::string> strings;
  switch (parse_json_array(rest, strings)) {
    case JsonArray::strings: {
      ins.exec_form = true;
      std::vector<Word> words;
      for (auto& s : strings) words.push_back({std::move(s), at});
      return words;
    }
    case JsonArray::other: return c.fail(at, "when using JSON array syntax, arrays must be comprised of strings only");
    case JsonArray::not_json: break;
  }
  return split_whitespace(rest, at);
}

void set_args(Instruction& ins, const std::vector<Word>& words) {
  ins.args.clear();
  for (const auto& w : words) ins.args.push_back(w.text);
}

std::unexpected<Error> need_args(const Ctx& c, const Parsed& p, std::string_view how) {
  return c.fail(p.keyword_at, kind_keyword(p.ins.kind) + std::string(" requires ") + std::string(how));
}

Result<void> parse_from(const Ctx& c, Parsed& p, std::string_view rest, size_t at) {
  auto words = split_whitespace(rest, at);
  set_args(p.ins, words);
  if (words.empty()) return need_args(c, p, "a base image (FROM image [AS name])");
  if (words.size() == 2 || (words.size() == 3 && !iequals(words[1].text, "as")))
    return c.fail(words[1].at, "FROM takes an image and optionally AS name, not '" + printable(words[1].text) + "'");
  if (words.size() > 3) return c.fail(words[3].at, "FROM requires either one or three arguments (FROM image [AS name])");
  if (words.size() == 3) {
    std::string name = lower(words[2].text);
    bool valid = is_alpha(name[0]) && std::all_of(name.begin(), name.end(), [](char ch) {
      return (ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '-' || ch == '_' || ch == '.';
    });
    if (!valid)
      return c.fail(words[2].at,
          "invalid stage name '" + printable(words[2].text) + "': it starts with a letter and has only letters, digits, '-', '_' and '.'");
    p.stage_name_at = words[2].at;
  }
  return {};
}

Result<void> parse_copy(const Ctx& c, Parsed& p, std::string_view rest, size_t at) {
  auto words = TRY(maybe_json_list(c, p.ins, rest, at));
  set_args(p.ins, words);
  if (words.size() < 2)
    return c.fail(words.empty() ? p.keyword_at : words[0].at,
        std::string(kind_keyword(p.ins.kind)) + " requires at least two arguments: a source and the destination");
  if (parse_marker(words.back().text))
    return c.fail(words.back().at, std::string(kind_keyword(p.ins.kind)) + " cannot take a heredoc as its destination");
  return {};
}

// ENV and LABEL: `k=v k2=v2 ...`, or the legacy `k v with spaces` (the first word has no '=').
Result<void> parse_pairs(const Ctx& c, Parsed& p, std::string_view rest, size_t at) {
  auto words = parse_words(rest, at, c.escape);
  set_args(p.ins, words);
  const char* kw = kind_keyword(p.ins.kind);
  if (words.empty()) return need_args(c, p, "at least one name=value pair");
  if (words[0].text.find('=') == std::string::npos) {
    size_t key_end = 0;
    while (key_end < rest.size() && !is_space(rest[key_end])) ++key_end;
    size_t value_at = skip_spaces(rest, key_end);
    if (value_at >= rest.size())
      return c.fail(words[0].at, std::string(kw) + " " + printable(words[0].text) + " has no value (name=value)");
    p.ins.pairs.push_back({std::string(rest.substr(0, key_end)), std::string(rest.substr(value_at)), true});
    p.ins.args = {p.ins.pairs[0].key, p.ins.pairs[0].value};
    return {};
  }
  for (const Word& w : words) {
    size_t eq = w.text.find('=');
    if (eq == std::string::npos) return c.fail(w.at, "can't find = in '" + printable(w.text) + "': " + kw + " takes name=value");
    if (eq == 0) return c.fail(w.at, std::string(kw) + " names can not be blank");
    p.ins.pairs.push_back({w.text.substr(0, eq), w.text.substr(eq + 1), true});
  }
  return {};
}

Result<void> parse_arg(const Ctx& c, Parsed& p, std::string_view rest, size_t at) {
  auto words = parse_words(rest, at, c.escape);
  set_args(p.ins, words);
  if (words.empty()) return need_args(c, p, "a name (ARG name[=default] ...)");
  for (const Word& w : words) {
    size_t eq = w.text.find('=');
    if (eq == 0 || w.text.empty()) return c.fail(w.at, "ARG names can not be blank");
    if (eq == std::string::npos) p.ins.pairs.push_back({w.text, "", false});
    else p.ins.pairs.push_back({w.text.substr(0, eq), w.text.substr(eq + 1), true});
  }
  return {};
}

Result<std::chrono::nanoseconds> health_duration(const Ctx& c, const Flag* f, size_t at) {
  if (!f || f->value.empty()) return std::chrono::nanoseconds{0};
  auto d = parse_go_duration(f->value);
  if (!d) return c.fail(at, "--" + f->name + "=" + printable(f->value) + " is not a duration (such as 30s, 1m30s)");
  if (*d != 0 && *d < 1'000'000) return c.fail(at, "--" + f->name + " cannot be less than 1ms");
  return std::chrono::nanoseconds{*d};
}

Result<void> parse_healthcheck(const Ctx& c, Parsed& p, std::string_view rest, size_t at, const std::vector<Word>& flag_words) {
  Instruction& ins = p.ins;
  if (rest.empty()) return need_args(c, p, "NONE or CMD and a command");
  size_t type_end = 0;
  while (type_end < rest.size() && !is_space(rest[type_end])) ++type_end;
  std::string type = lower(rest.substr(0, type_end));
  size_t cmd_at = skip_spaces(rest, type_end);
  std::string_view cmd = rest.substr(cmd_at);
  Healthcheck h;
  if (type == "none") {
    if (!cmd.empty()) return c.fail(at + cmd_at, "HEALTHCHECK NONE takes no arguments");
    if (!flag_words.empty()) return c.fail(flag_words[0].at, "HEALTHCHECK NONE takes no options");
    h.test = {"NONE"};
    ins.health = std::move(h);
    return {};
  }
  if (type != "cmd") return c.fail(at, "unknown HEALTHCHECK type '" + printable(rest.substr(0, type_end)) + "' (NONE or CMD)");
  TRY(maybe_json(c, ins, cmd, at + cmd_at));
  if (ins.args.empty()) return c.fail(at, "HEALTHCHECK CMD requires a command");
  h.test = {ins.exec_form ? "CMD" : "CMD-SHELL"};
  h.test.insert(h.test.end(), ins.args.begin(), ins.args.end());
  auto flag_at = [&](std::string_view name) {
    for (const Word& w : flag_words)
      if (std::string_view(w.text).substr(2).starts_with(std::string(name) + "=")) return w.at;
    return p.keyword_at;
  };
  h.interval = TRY(health_duration(c, ins.flag("interval"), flag_at("interval")));
  h.timeout = TRY(health_duration(c, ins.flag("timeout"), flag_at("timeout")));
  h.start_period = TRY(health_duration(c, ins.flag("start-period"), flag_at("start-period")));
  h.start_interval = TRY(health_duration(c, ins.flag("start-interval"), flag_at("start-interval")));
  if (const Flag* r = ins.flag("retries"); r && !r->value.empty()) {
    auto n = parse_int<int32_t>(r->value);
    if (!n) return c.fail(flag_at("retries"), "--retries=" + printable(r->value) + " is not a number");
    if (*n < 0) return c.fail(flag_at("retries"), "--retries cannot be negative");
    h.retries = *n;
  }
  ins.health = std::move(h);
  return {};
}

Result<Parsed> parse_instruction(const Ctx& c, size_t begin, bool trigger);

Result<void> parse_onbuild(const Ctx& c, Parsed& p, std::string_view rest, size_t at) {
  if (rest.empty()) return need_args(c, p, "an instruction to run in the builds based on this image");
  Parsed t = TRY(parse_instruction(c, at, true));
  switch (t.ins.kind) {
    case Kind::onbuild: return c.fail(t.keyword_at, "chaining ONBUILD via ONBUILD ONBUILD isn't allowed");
    case Kind::from:
    case Kind::maintainer: return c.fail(t.keyword_at, std::string(kind_keyword(t.ins.kind)) + " isn't allowed as an ONBUILD trigger");
    default: break;
  }
  p.ins.trigger = std::make_shared<const Instruction>(std::move(t.ins));
  return {};
}

// The arguments of one kind of instruction: `rest` is the text after the flags, trimmed, at
// offset `at` of the logical line.
Result<void> parse_arguments(const Ctx& c, Parsed& p, std::string_view rest, size_t at, const std::vector<Word>& flag_words) {
  Instruction& ins = p.ins;
  switch (ins.kind) {
    case Kind::from: return parse_from(c, p, rest, at);
    case Kind::run:
    case Kind::cmd:
    case Kind::entrypoint:
    case Kind::shell:
      TRY(maybe_json(c, ins, rest, at));
      if (rest.empty())
        return need_args(c, p, ins.kind == Kind::shell ? "a JSON array: SHELL [\"executable\", \"parameters\"]" : "a command");
      if (ins.kind == Kind::shell && !ins.exec_form)
        return c.fail(at, "SHELL requires the arguments to be in JSON form: SHELL [\"executable\", \"parameters\"]");
      if ((ins.kind == Kind::run || ins.kind == Kind::shell) && ins.args.empty())
        return need_args(c, p, "a command (the JSON array is empty)");
      return {};
    case Kind::copy:
    case Kind::add: return parse_copy(c, p, rest, at);
    case Kind::volume: {
      auto words = TRY(maybe_json_list(c, ins, rest, at));
      set_args(ins, words);
      if (words.empty()) return need_args(c, p, "at least one path");
      for (const Word& w : words)
        if (w.text.empty()) return c.fail(w.at, "VOLUME specified can not be an empty string");
      return {};
    }
    case Kind::env:
    case Kind::label: return parse_pairs(c, p, rest, at);
    case Kind::arg: return parse_arg(c, p, rest, at);
    case Kind::workdir:
    case Kind::user:
    case Kind::maintainer:
      if (rest.empty()) return need_args(c, p, "exactly one argument");
      ins.args = {std::string(rest)};
      return {};
    case Kind::stopsignal: {
      auto words = split_whitespace(rest, at);
      set_args(ins, words);
      if (words.empty()) return need_args(c, p, "a signal (STOPSIGNAL SIGTERM)");
      if (words.size() > 1) return c.fail(words[1].at, "STOPSIGNAL requires exactly one argument");
      return {};
    }
    case Kind::expose: {
      auto words = split_whitespace(rest, at);
      set_args(ins, words);
      if (words.empty()) return need_args(c, p, "at least one port");
      return {};
    }
    case Kind::healthcheck: return parse_healthcheck(c, p, rest, at, flag_words);
    case Kind::onbuild: return parse_onbuild(c, p, rest, at);
  }
  return {};
}

// One instruction starting at `begin` of the logical line (an ONBUILD's trigger starts inside).
Result<Parsed> parse_instruction(const Ctx& c, size_t begin, bool trigger) {
  std::string_view all = c.line.text();
  Parsed p;
  p.keyword_at = skip_spaces(all, begin);
  size_t keyword_end = p.keyword_at;
  while (keyword_end < all.size() && !is_space(all[keyword_end])) ++keyword_end;
  Instruction& ins = p.ins;
  ins.keyword = all.substr(p.keyword_at, keyword_end - p.keyword_at);
  Pos at = c.pos(p.keyword_at);
  ins.line = at.line;
  ins.column = at.column;
  ins.original = trigger ? all.substr(p.keyword_at) : all;
  auto kind = kind_of(ins.keyword);
  if (!kind) return c.fail(p.keyword_at, "unknown instruction: " + printable(ins.keyword));
  ins.kind = *kind;

  std::string_view tail = all.substr(keyword_end);
  while (!tail.empty() && is_space(tail.back())) tail.remove_suffix(1);
  FlagWords fw = extract_flags(tail, keyword_end);
  size_t rest_at = skip_spaces(all, fw.rest);
  std::string_view rest = all.substr(rest_at, std::max(keyword_end + tail.size(), rest_at) - rest_at);
  ins.flags = TRY(check_flags(c, p, fw.words));
  TRY(parse_arguments(c, p, rest, rest_at, fw.words));
  return p;
}

// ---- Heredocs ------------------------------------------------------------------------------

bool can_have_heredocs(const Instruction& ins) {
  const Instruction& i = ins.kind == Kind::onbuild && ins.trigger ? *ins.trigger : ins;
  return (i.kind == Kind::run || i.kind == Kind::copy || i.kind == Kind::add) && !i.exec_form;
}

std::string strip_leading_tabs(std::string_view s) {
  std::string out;
  bool line_start = true;
  for (char ch : s) {
    if (line_start && ch == '\t') continue;
    line_start = ch == '\n';
    out += ch;
  }
  return out;
}

// Reads the bodies of the heredocs the instruction's line names, from `next` on.
Result<std::vector<Heredoc>> read_heredocs(const Ctx& c, const std::vector<PhysicalLine>& lines, size_t& next) {
  std::vector<Heredoc> docs;
  auto words = shell_words(c.line.text());
  if (!words) return docs;
  for (const Word& w : *words) {
    auto m = parse_marker(w.text);
    if (!m) continue;
    Heredoc h{m->name, "", m->expand, m->strip_tabs, m->fd};
    bool terminated = false;
    while (next < lines.size() && !terminated) {
      const PhysicalLine& l = lines[next++];
      std::string_view candidate = l.text;
      if (h.strip_tabs)
        while (candidate.starts_with('\t')) candidate.remove_prefix(1);
      if (candidate == h.name) terminated = true;
      else h.content += l.raw;
    }
    if (!terminated)
      return c.fail(w.at, "unterminated heredoc " + printable(w.text) + ": no line '" + printable(h.name) + "' before the end of the file");
    if (h.strip_tabs) h.content = strip_leading_tabs(h.content);
    docs.push_back(std::move(h));
  }
  return docs;
}

// ---- The file ------------------------------------------------------------------------------

// Joins one instruction's lines from `next` on (nullopt at the end of the file).
Result<std::optional<LogicalLine>> read_logical_line(const std::vector<PhysicalLine>& lines, size_t& next, DirectiveScanner& ds) {
  while (next < lines.size()) {
    const PhysicalLine& first = lines[next++];
    std::string_view text = trim_left(first.text);
    TRY(ds.see(first, text));
    if (text.starts_with('#')) text = {};
    char esc = ds.directives.escape;
    auto [piece, escape_at] = strip_continuation(text, esc);
    if (escape_at == std::string_view::npos && piece.empty()) continue;
    LogicalLine ll;
    ll.append(piece, first, static_cast<size_t>(text.data() - first.text.data()));
    Pos escape_pos{first.number, column_of(first.text, static_cast<size_t>(text.data() - first.text.data()) + escape_at)};
    while (escape_at != std::string_view::npos) {
      if (next >= lines.size())
        return fail_at(escape_pos, "the file ends inside an instruction: its last line ends in the escape character");
      const PhysicalLine& more = lines[next++];
      TRY(ds.see(more, more.text));
      if (is_comment(more.text) || trim_left(more.text).empty()) continue;  // dropped, as buildkit does
      std::tie(piece, escape_at) = strip_continuation(more.text, esc);
      ll.append(piece, more, 0);
      if (escape_at != std::string_view::npos) escape_pos = {more.number, column_of(more.text, escape_at)};
    }
    return std::optional<LogicalLine>(std::move(ll));
  }
  return std::optional<LogicalLine>();
}

// Puts instructions into stages: ARGs before the first FROM are meta args, stage names unique.
class StageBuilder {
 public:
  explicit StageBuilder(Dockerfile& df) : df_(df) {}

  Result<void> add(const Ctx& c, Parsed&& p) {
    Instruction& ins = p.ins;
    if (ins.kind == Kind::from) {
      Stage s;
      s.base = ins.args[0];
      s.line = ins.line;
      if (const Flag* f = ins.flag("platform")) s.platform = f->value;
      if (ins.args.size() == 3) {
        s.name = lower(ins.args[2]);
        if (auto [it, fresh] = names_.emplace(s.name, ins.line); !fresh)
          return c.fail(p.stage_name_at, "duplicate stage name '" + s.name + "' (first on line " + std::to_string(it->second) + ")");
      }
      s.from = std::move(ins);
      df_.stages.push_back(std::move(s));
      return {};
    }
    if (df_.stages.empty()) {
      if (ins.kind != Kind::arg)
        return c.fail(p.keyword_at, std::string(kind_keyword(ins.kind)) + " before the first FROM: only ARG may come before it");
      df_.meta_args.push_back(std::move(ins));
      return {};
    }
    df_.stages.back().instructions.push_back(std::move(ins));
    return {};
  }

 private:
  Dockerfile& df_;
  std::map<std::string, int> names_;
};

}  // namespace

const char* kind_keyword(Kind k) {
  for (const auto& n : kKinds)
    if (n.kind == k) return n.keyword.data();
  return "?";
}

const Flag* Instruction::flag(std::string_view name) const {
  for (auto it = flags.rbegin(); it != flags.rend(); ++it)
    if (it->name == name) return &*it;
  return nullptr;
}

std::vector<std::string> Instruction::flag_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const Flag& f : flags)
    if (f.name == name) out.push_back(f.value);
  return out;
}

bool Instruction::flag_set(std::string_view name) const {
  const Flag* f = flag(name);
  return f && f->value == "true";
}

std::span<const std::string> Instruction::sources() const {
  if (args.empty()) return {};
  return std::span<const std::string>(args).first(args.size() - 1);
}

const std::string& Instruction::destination() const {
  static const std::string none;
  return args.empty() ? none : args.back();
}

const Heredoc* Instruction::heredoc_for(std::string_view word) const {
  auto m = parse_marker(word);
  if (!m) return nullptr;
  for (const Heredoc& h : heredocs)
    if (h.name == m->name) return &h;
  return nullptr;
}

std::string onbuild_expression(const Instruction& onbuild) {
  if (!onbuild.trigger) return {};
  std::string out = onbuild.trigger->original;
  for (const Heredoc& h : onbuild.trigger->heredocs) out += "\n" + h.content + h.name;
  return out;
}

Result<Dockerfile> parse_dockerfile(std::string_view text) {
  Dockerfile df;
  auto lines = split_lines(text);
  DirectiveScanner ds;
  StageBuilder stages(df);
  std::optional<Pos> first_instruction;
  size_t next = 0;
  for (;;) {
    auto ll = TRY(read_logical_line(lines, next, ds));
    if (!ll) break;
    Ctx c{*ll, ds.directives.escape};
    Parsed p = TRY(parse_instruction(c, 0, false));
    std::vector<Heredoc> docs;
    if (can_have_heredocs(p.ins)) docs = TRY(read_heredocs(c, lines, next));
    p.ins.end_line = lines[next - 1].number;
    if (p.ins.kind == Kind::onbuild) {  // the heredocs belong to the trigger
      Instruction t = *p.ins.trigger;
      t.heredocs = std::move(docs);
      t.end_line = p.ins.end_line;
      p.ins.trigger = std::make_shared<const Instruction>(std::move(t));
    } else {
      p.ins.heredocs = std::move(docs);
    }
    if (!first_instruction) first_instruction = Pos{p.ins.line, p.ins.column};
    TRY(stages.add(c, std::move(p)));
  }
  df.directives = ds.directives;
  if (!first_instruction) return fail_at({1, 1}, "the Dockerfile has no instructions");
  if (df.stages.empty()) return fail_at(*first_instruction, "no FROM instruction: a Dockerfile needs at least one build stage");
  return df;
}

}  // namespace tiffin::build
