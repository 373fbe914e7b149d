#include "build/dockerignore.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "build/go_text.hpp"
#include "common/text.hpp"

namespace tiffin::build {

// A pattern compiled to the tokens of a small NFA. docker picks a cheaper test for some shapes
// and those tests are not quite the regexp's (a prefix test lets a newline through, a suffix
// test does not start at a /), so the shape is kept and tested as docker does.
struct DockerIgnore::Pattern {
  enum class Kind { exact, prefix, suffix, glob } kind = Kind::exact;
  struct Token {
    enum Kind { literal, any, star, dirs, tail, cls } kind;
    std::string text;                                   // literal: one character
    std::vector<std::pair<char32_t, char32_t>> ranges;  // cls
    bool negated = false;                               // cls
  };
  std::string text;  // cleaned, without the "!"
  bool exception = false;
  std::vector<Token> tokens;
};

namespace {

using Pattern = DockerIgnore::Pattern;
using Token = Pattern::Token;

// Go's filepath.Clean on a slash path: no empty or "." components, ".." eats the one before it
// (at the root it goes away), "" is ".".
std::string go_clean(std::string_view p) {
  if (p.empty()) return ".";
  bool rooted = p[0] == '/';
  std::vector<std::string_view> parts;
  for (size_t i = 0; i <= p.size();) {
    size_t slash = std::min(p.find('/', i), p.size());
    std::string_view part = p.substr(i, slash - i);
    i = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      parts.push_back(part);
    } else if (!parts.empty() && parts.back() != "..") {
      parts.pop_back();
    } else if (!rooted) {
      parts.push_back(part);
    }
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) (out += i ? "/" : "") += parts[i];
  return out.empty() ? "." : out;
}

// One [...] class from p[i] (just after the '['), as filepath.Match reads it: ^ negates, then
// one or more items, each a character or lo-hi, where \ escapes; a bare - or ] where an item
// starts, an unfinished class or a stray byte is a bad pattern. Returns where the class ends.
std::optional<size_t> read_class(std::string_view p, size_t i, Token& t) {
  t = Token{Token::cls, {}, {}, false};
  if (i < p.size() && p[i] == '^') t.negated = true, ++i;
  auto item = [&](char32_t& out) {
    if (i >= p.size() || p[i] == '-' || p[i] == ']') return false;
    if (p[i] == '\\' && ++i >= p.size()) return false;
    go_text::Rune r = go_text::decode_rune(p, i);
    if (r.value == 0xFFFD && r.width == 1) return false;
    out = r.value;
    i += r.width;
    return true;
  };
  for (;;) {
    if (i < p.size() && p[i] == ']' && !t.ranges.empty()) return i + 1;
    char32_t lo, hi;
    if (!item(lo)) return std::nullopt;
    hi = lo;
    if (i < p.size() && p[i] == '-' && (++i, !item(hi))) return std::nullopt;
    // filepath.Match lets hi < lo match nothing; the regexp docker builds refuses it.
    if (hi < lo) return std::nullopt;
    t.ranges.emplace_back(lo, hi);
  }
}

// patternmatcher's compile: the tokens, and which of its tests docker will use.
Result<Pattern> compile(std::string text, bool exception) {
  Pattern pat;
  pat.exception = exception;
  std::string_view p = text;
  auto kind = Pattern::Kind::exact;
  auto& tokens = pat.tokens;
  for (size_t i = 0; i < p.size();) {
    size_t at = i;
    char c = p[i];
    if (c == '*') {
      ++i;
      if (i < p.size() && p[i] == '*') {
        ++i;
        if (i < p.size() && p[i] == '/') ++i;  // "**/" is "**"
        if (i == p.size()) {
          tokens.push_back({Token::tail, {}, {}, false});
          kind = kind == Pattern::Kind::exact ? Pattern::Kind::prefix : Pattern::Kind::glob;
        } else {
          tokens.push_back({Token::dirs, {}, {}, false});
          kind = Pattern::Kind::glob;
        }
        if (at == 0) kind = Pattern::Kind::suffix;
      } else {
        tokens.push_back({Token::star, {}, {}, false});
        kind = Pattern::Kind::glob;
      }
    } else if (c == '?') {
      tokens.push_back({Token::any, {}, {}, false});
      kind = Pattern::Kind::glob;
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= p.size()) return fail(Errc::invalid_input, "syntax error in pattern (a \\ at the end)");
      size_t w = go_text::rune_width(p, i + 1);
      tokens.push_back({Token::literal, std::string(p.substr(i + 1, w)), {}, false});
      kind = Pattern::Kind::glob;
      i += 1 + w;
    } else if (c == '[') {
      Token t;
      auto end = read_class(p, i + 1, t);
      if (!end) return fail(Errc::invalid_input, "syntax error in pattern (a bad [...] class)");
      tokens.push_back(std::move(t));
      kind = Pattern::Kind::glob;
      i = *end;
    } else {
      // A ] alone is a literal, but it sends docker to its regexp all the same.
      if (c == ']') kind = Pattern::Kind::glob;
      size_t w = go_text::rune_width(p, i);
      tokens.push_back({Token::literal, std::string(p.substr(i, w)), {}, false});
      i += w;
    }
  }
  pat.kind = kind;
  pat.text = std::move(text);
  return pat;
}

// The NFA: a state is "token t next" (t == size: matched), and for ** in the middle whether it
// is inside the directories it skips (then it cannot stop before a '/').
class Nfa {
 public:
  explicit Nfa(const Pattern& p) : tokens_(p.tokens), states_(2 * (tokens_.size() + 1), false) {
    states_[0] = true;
    close();
  }

  void feed(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      go_text::Rune r = go_text::decode_rune(s, i);
      step(s.substr(i, r.width), r.value);
      i += r.width;
    }
  }
  bool accepted() const { return states_[2 * tokens_.size()]; }
  bool can_go_on() const { return std::find(states_.begin(), states_.end() - 2, true) != states_.end() - 2; }

 private:
  // Stars of all kinds may match nothing: "t next" is also "t+1 next".
  void close() {
    for (size_t t = 0; t < tokens_.size(); ++t)
      if (states_[2 * t] && (tokens_[t].kind == Token::star || tokens_[t].kind == Token::dirs || tokens_[t].kind == Token::tail))
        states_[2 * (t + 1)] = true;
  }

  void step(std::string_view bytes, char32_t r) {
    std::vector<bool> next(states_.size(), false);
    for (size_t t = 0; t < tokens_.size(); ++t) {
      bool at = states_[2 * t], inside = states_[2 * t + 1];
      if (!at && !inside) continue;
      const Token& k = tokens_[t];
      switch (k.kind) {
        case Token::literal:
          if (at && bytes == k.text) next[2 * (t + 1)] = true;
          break;
        case Token::any:
          if (at && r != '/') next[2 * (t + 1)] = true;
          break;
        case Token::cls:
          if (at && in_class(k, r)) next[2 * (t + 1)] = true;
          break;
        case Token::star:
          if (r != '/') next[2 * t] = true;
          break;
        case Token::tail:  // .*
          if (r != '\n') next[2 * t] = true;
          break;
        case Token::dirs:  // (.*/)?
          if (r == '\n') break;
          next[2 * t + 1] = true;
          if (r == '/') next[2 * (t + 1)] = true;
          break;
      }
    }
    states_ = std::move(next);
    close();
  }

  static bool in_class(const Token& k, char32_t r) {
    bool in = std::any_of(k.ranges.begin(), k.ranges.end(), [&](const auto& lh) { return lh.first <= r && r <= lh.second; });
    return in != k.negated;
  }

  const std::vector<Token>& tokens_;
  std::vector<bool> states_;  // 2*t: token t next; 2*t+1: inside the ** at t
};

bool pattern_matches(const Pattern& p, std::string_view path) {
  switch (p.kind) {
    case Pattern::Kind::exact: return path == p.text;
    case Pattern::Kind::prefix: return path.starts_with(std::string_view(p.text).substr(0, p.text.size() - 2));
    case Pattern::Kind::suffix: {
      std::string_view suffix = std::string_view(p.text).substr(2);
      return path.ends_with(suffix) || (suffix.starts_with('/') && path == suffix.substr(1));
    }
    case Pattern::Kind::glob: break;
  }
  Nfa nfa(p);
  nfa.feed(path);
  return nfa.accepted();
}

// A path as the walker hands it over: cleaned, relative.
std::string normalised(std::string_view path) {
  std::string p = go_clean(path);
  if (p.size() > 1 && p[0] == '/') p.erase(0, 1);
  return p == "/" ? "." : p;
}

}  // namespace

DockerIgnore::DockerIgnore() = default;
DockerIgnore::~DockerIgnore() = default;
DockerIgnore::DockerIgnore(DockerIgnore&&) noexcept = default;
DockerIgnore& DockerIgnore::operator=(DockerIgnore&&) noexcept = default;
DockerIgnore::DockerIgnore(const DockerIgnore&) = default;
DockerIgnore& DockerIgnore::operator=(const DockerIgnore&) = default;

Result<DockerIgnore> DockerIgnore::parse(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a BOM
  DockerIgnore d;
  size_t line = 0;
  for (size_t i = 0; i < text.size();) {
    size_t nl = std::min(text.find('\n', i), text.size());
    std::string_view raw = text.substr(i, nl - i);
    i = nl + 1;
    ++line;
    if (raw.ends_with('\r')) raw.remove_suffix(1);
    if (raw.starts_with('#')) continue;
    std::string_view p = go_text::trim_space(raw);
    if (p.empty()) continue;
    bool exception = p[0] == '!';
    if (exception) p = go_text::trim_space(p.substr(1));
    std::string cleaned(p);
    if (!p.empty()) {
      cleaned = go_clean(p);
      if (cleaned.size() > 1 && cleaned[0] == '/') cleaned.erase(0, 1);
    }
    auto added = d.add((exception ? "!" : "") + cleaned);
    if (!added) return fail(Errc::invalid_input, ".dockerignore line " + std::to_string(line) + ": " + added.error().message);
  }
  return d;
}

Result<DockerIgnore> DockerIgnore::from_patterns(std::span<const std::string> patterns) {
  DockerIgnore d;
  for (const std::string& p : patterns) TRY(d.add(p));
  return d;
}

// patternmatcher.New for one pattern.
Result<void> DockerIgnore::add(std::string_view pattern) {
  pattern = go_text::trim_space(pattern);
  if (pattern.empty()) return {};
  std::string p = go_clean(pattern);
  bool exception = p[0] == '!';
  if (exception) {
    if (p.size() == 1) return fail(Errc::invalid_input, "illegal exclusion pattern: \"!\"");
    p.erase(0, 1);
  }
  auto compiled = compile(p, exception);
  if (!compiled) return fail(Errc::invalid_input, compiled.error().message + ": \"" + printable(p) + "\"");
  sources_.push_back((exception ? "!" : "") + p);
  compiled_.push_back(std::move(*compiled));
  return {};
}

bool DockerIgnore::has_exceptions() const {
  return std::any_of(compiled_.begin(), compiled_.end(), [](const Pattern& p) { return p.exception; });
}

bool DockerIgnore::excluded(std::string_view relative_path) const {
  std::string file = normalised(relative_path);
  if (file == ".") return false;
  bool matched = false;
  for (const Pattern& p : compiled_) {
    // Only a pattern that would change the answer is tried.
    if (p.exception != matched) continue;
    bool match = pattern_matches(p, file);
    // A pattern matching a parent directory matches everything in it.
    for (size_t slash = file.find('/'); !match && slash != std::string::npos; slash = file.find('/', slash + 1))
      match = pattern_matches(p, std::string_view(file).substr(0, slash));
    if (match) matched = !p.exception;
  }
  return matched;
}

bool DockerIgnore::may_include_under(std::string_view dir) const {
  std::string d = normalised(dir);
  if (d == ".") return has_exceptions();
  // Everything the patterns say about dir they say about what is under it; only an exception
  // that can match a longer path starting "dir/" can make a difference there.
  std::string under = d + "/";
  for (const Pattern& p : compiled_) {
    if (!p.exception) continue;
    if (p.kind == Pattern::Kind::suffix) return true;
    if (p.kind == Pattern::Kind::prefix) {  // as pattern_matches reads it, newlines and all
      std::string_view prefix = std::string_view(p.text).substr(0, p.text.size() - 2);
      if (prefix.starts_with(under) || under.starts_with(prefix)) return true;
      continue;
    }
    Nfa nfa(p);
    nfa.feed(under);
    if (nfa.can_go_on()) return true;
  }
  return false;
}

}  // namespace tiffin::build
