#include "build/shell_lexer.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "build/go_text.hpp"
#include "common/text.hpp"

namespace tiffin::build {
namespace {

constexpr int kEof = -1;

std::unexpected<Error> invalid(std::string message) { return fail(Errc::invalid_input, std::move(message)); }

// ---- Shell patterns (${N#p}, ${N%p}, ${N/p/r}) --------------------------------------------
//
// buildkit turns a pattern into a Go regular expression (* as .*? or .*, ? as .) and takes Go's
// leftmost-first match. The same match is found here without backtracking: `.` and `.*` never
// cross a newline, and of the ways the rest of the pattern can match, each * takes the shortest
// (lazy) or longest (greedy) run that still lets the rest match, the earlier * first.

struct PatToken {
  enum Kind { literal, any, star } kind;
  std::string text;  // literal: one character (one UTF-8 sequence, or one stray byte)
};

Result<std::vector<PatToken>> parse_pattern(std::string_view p) {
  auto bad = [&](std::string_view what) {
    return invalid("invalid pattern (" + std::string(p) + ") in substitution: invalid escape '\\" + std::string(what) + "'");
  };
  std::vector<PatToken> out;
  for (size_t i = 0; i < p.size();) {
    char c = p[i];
    if (c == '*' || c == '?') {
      out.push_back({c == '*' ? PatToken::star : PatToken::any, {}});
      ++i;
    } else if (c == '\\') {
      // \} and \/ only kept the ${} syntax from ending the part: the character is a literal.
      if (i + 1 < p.size() && (p[i + 1] == '}' || p[i + 1] == '/')) {
        ++i;
        continue;
      }
      if (i + 1 >= p.size()) return bad("");
      std::string_view next = p.substr(i + 1, go_text::rune_width(p, i + 1));
      if (next != "*" && next != "?" && next != "\\") return bad(next);
      out.push_back({PatToken::literal, std::string(next)});
      i += 2;
    } else {
      size_t w = go_text::rune_width(p, i);
      out.push_back({PatToken::literal, std::string(p.substr(i, w))});
      i += w;
    }
  }
  return out;
}

// `s` with its characters (runes; stray bytes one by one) in reverse order.
std::string reversed_runes(std::string_view s) {
  std::string out(s.size(), '\0');
  for (size_t i = 0; i < s.size();) {
    size_t w = go_text::rune_width(s, i);
    std::copy_n(s.data() + i, w, out.data() + (s.size() - i - w));
    i += w;
  }
  return out;
}

// Matches one pattern against one value; both must outlive it (it keeps views of them).
class PatternMatcher {
 public:
  // Above this many table cells a pattern is refused rather than matched slowly.
  static constexpr size_t kMaxCells = size_t(1) << 27;

  static Result<PatternMatcher> make(const std::vector<PatToken>& tokens, std::string_view value, bool greedy) {
    PatternMatcher m(value, greedy);
    m.segments_.emplace_back();
    bool after_star = false;
    for (const PatToken& t : tokens) {
      // Runs of * behave as one: they can take no more and no less than one * can.
      if (t.kind == PatToken::star) {
        if (!after_star) m.segments_.emplace_back();
      } else {
        m.segments_.back().push_back(&t);
      }
      after_star = t.kind == PatToken::star;
    }
    if ((tokens.size() + m.segments_.size()) * (value.size() + 1) > kMaxCells)
      return invalid("pattern of " + std::to_string(tokens.size()) + " characters too complex for a value of " +
                     std::to_string(value.size()) + " bytes");
    m.prepare();
    return m;
  }

  // The end of the match starting exactly at `start`, if there is one.
  std::optional<size_t> match_at(size_t start) const {
    auto end = segment_end(0, start);
    if (!end || (stars() > 0 && !can_finish_[1][*end])) return std::nullopt;
    size_t p = *end;
    for (size_t i = 1; i <= stars(); ++i) {
      // The star before segment i runs from p to the line's end at most.
      size_t limit = p;
      while (limit < value_.size() && value_[limit] != '\n') limit += width_[limit];
      std::optional<size_t> chosen;
      if (greedy_) {
        for (size_t q = limit + 1; q-- > p && !chosen;)
          if (boundary_[q]) chosen = fits(i, q);
      } else {
        for (size_t q = p; !chosen; q += width_[q]) {
          chosen = fits(i, q);
          if (q >= limit) break;
        }
      }
      p = *chosen;  // there is one: can_finish_[i][p] said so
    }
    return p;
  }

  // The leftmost match starting at `from` or later: {start, end}.
  std::optional<std::pair<size_t, size_t>> find(size_t from) const {
    for (size_t s = from; s <= value_.size(); s += s < value_.size() ? width_[s] : 1)
      if (auto e = match_at(s)) return std::pair{s, *e};
    return std::nullopt;
  }

 private:
  PatternMatcher(std::string_view value, bool greedy) : value_(value), greedy_(greedy) {}

  size_t stars() const { return segments_.size() - 1; }

  // Where segment i (characters and ?s, a fixed number of runes) ends if it matches at pos.
  std::optional<size_t> segment_end(size_t i, size_t pos) const {
    for (const PatToken* t : segments_[i]) {
      if (t->kind == PatToken::literal) {
        if (value_.substr(pos, t->text.size()) != t->text) return std::nullopt;
        pos += t->text.size();
      } else {
        if (pos >= value_.size() || value_[pos] == '\n') return std::nullopt;
        pos += width_[pos];
      }
    }
    return pos;
  }

  bool rest_matches(size_t i, size_t pos) const { return i > stars() || can_finish_[i][pos]; }

  // The end of segment i placed at q, if the rest of the pattern can follow it.
  std::optional<size_t> fits(size_t i, size_t q) const {
    auto e = segment_end(i, q);
    if (e && rest_matches(i + 1, *e)) return e;
    return std::nullopt;
  }

  // can_finish_[i][p]: "* segment_i * … segment_last" matches from p. Filled from the end of the
  // value backwards: the star takes nothing here, or one more character and it matches from there.
  void prepare() {
    width_.resize(value_.size());
    for (size_t p = 0; p < value_.size(); ++p) width_[p] = static_cast<uint8_t>(go_text::rune_width(value_, p));
    boundary_.assign(value_.size() + 1, false);
    for (size_t p = 0; p < value_.size(); p += width_[p]) boundary_[p] = true;
    boundary_[value_.size()] = true;
    can_finish_.resize(segments_.size());
    for (size_t i = stars(); i >= 1; --i) {
      std::vector<bool>& row = can_finish_[i];
      row.assign(value_.size() + 1, false);
      for (size_t p = value_.size() + 1; p-- > 0;) {
        row[p] = fits(i, p) || (p < value_.size() && value_[p] != '\n' && row[p + width_[p]]);
      }
    }
  }

  std::string_view value_;
  bool greedy_;
  std::vector<std::vector<const PatToken*>> segments_;  // split at the stars
  std::vector<uint8_t> width_;                          // of the rune at each byte
  std::vector<bool> boundary_;                          // where a rune starts (and the end)
  std::vector<std::vector<bool>> can_finish_;
};

Result<std::string> trim_prefix(std::string_view pattern, const std::string& value, bool greedy) {
  auto tokens = TRY(parse_pattern(pattern));
  auto m = TRY(PatternMatcher::make(tokens, value, greedy));
  if (auto end = m.match_at(0)) return value.substr(*end);
  return value;
}

// The pattern read backwards, an escape staying in front of the character it escapes
// (buildkit's reversePattern: "a\\*c" is "c\\*a"; a lone \ at the end is then read in front of
// what was before it).
std::string reversed_pattern(std::string_view p) {
  std::vector<std::string_view> units;  // characters, and \ with the character after it
  for (size_t i = 0; i < p.size();) {
    size_t w = go_text::rune_width(p, i);
    if (p[i] == '\\' && i + 1 < p.size()) w += go_text::rune_width(p, i + 1);
    units.push_back(p.substr(i, w));
    i += w;
  }
  std::string out;
  out.reserve(p.size());
  for (size_t i = units.size(); i-- > 0;) out += units[i];
  return out;
}

// The shortest or longest suffix is the shortest or longest prefix of the reversed value, for
// the reversed pattern.
Result<std::string> trim_suffix(std::string_view pattern, const std::string& value, bool greedy) {
  std::string reversed = reversed_runes(value);
  auto trimmed = TRY(trim_prefix(reversed_pattern(pattern), reversed, greedy));
  return reversed_runes(trimmed);
}

// Go's Regexp.Expand for ReplaceAllString's replacement: $$ is $, $0 and ${0} the match, any
// other $name or ${name} a group the pattern has not (so ""), a $ that starts no name itself.
std::string expand_replacement(std::string_view repl, std::string_view match) {
  auto name_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; };
  std::string out;
  size_t i = 0;
  for (size_t dollar; (dollar = repl.find('$', i)) != std::string_view::npos;) {
    out += repl.substr(i, dollar - i);
    size_t at = dollar + 1;
    if (at < repl.size() && repl[at] == '$') {
      out += '$';
      i = at + 1;
      continue;
    }
    bool brace = at < repl.size() && repl[at] == '{';
    size_t begin = at + (brace ? 1 : 0), end = begin;
    while (end < repl.size() && name_char(repl[end])) ++end;
    if (end == begin || (brace && (end >= repl.size() || repl[end] != '}'))) {
      out += '$';
      i = at;
      continue;
    }
    if (repl.substr(begin, end - begin) == "0") out += match;
    i = end + (brace ? 1 : 0);
  }
  out += repl.substr(i);
  return out;
}

Result<std::string> replace(std::string_view pattern, const std::string& value, std::string_view repl, bool all) {
  auto tokens = TRY(parse_pattern(pattern));
  auto m = TRY(PatternMatcher::make(tokens, value, true));
  if (!all) {
    auto found = m.find(0);
    if (!found) return value;
    return value.substr(0, found->first) + std::string(repl) + value.substr(found->second);
  }
  // Go's ReplaceAllString: an empty match right after a match is not replaced, and the search
  // moves on by at least one character.
  std::string out;
  size_t last_end = 0;
  for (size_t search = 0; search <= value.size();) {
    auto found = m.find(search);
    if (!found) break;
    auto [start, end] = *found;
    out.append(value, last_end, start - last_end);
    if (end > last_end || start == 0) out += expand_replacement(repl, std::string_view(value).substr(start, end - start));
    last_end = end;
    size_t width = search < value.size() ? go_text::rune_width(value, search) : 0;
    if (search + width > end) search += width;
    else if (search + 1 > end) ++search;
    else search = end;
  }
  out.append(value, last_end);
  return out;
}

// ---- Words -----------------------------------------------------------------------------------

// ProcessWords' splitting: blanks that came from the text or from a variable's value end a
// word; quoted or escaped characters never do, and a word is only kept if it is not empty.
class WordSplitter {
 public:
  void add(std::string_view rune) {
    if (go_text::is_space(go_text::decode_rune(rune, 0).value)) {
      if (in_word_ && !word_.empty()) flush();
    } else {
      add_raw(rune);
    }
  }
  void add_string(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      size_t w = go_text::rune_width(s, i);
      add(s.substr(i, w));
      i += w;
    }
  }
  void add_raw(std::string_view s) {
    word_ += s;
    in_word_ = true;
  }
  std::vector<std::string> finish() {
    if (!word_.empty()) flush();
    return std::move(words_);
  }

 private:
  void flush() {
    words_.push_back(std::move(word_));
    word_.clear();
    in_word_ = false;
  }
  std::string word_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

// ---- The expander ----------------------------------------------------------------------------

class Expander {
 public:
  Expander(const ShellLexer& lexer, std::string_view text, const VarLookup& env, Expansion& out)
      : lx_(lexer), text_(text), env_(env), out_(out), raw_escapes_(lexer.raw_escapes) {}

  // buildkit's processStopOn: expands up to `stop` (consumed) or the end of the text, which is an
  // error when a stop character was wanted. `words`, if given, gets the word splitting.
  Result<std::string> until(int stop, bool raw_escapes, WordSplitter* words) {
    RawEscapes scope(*this, raw_escapes);
    WordSplitter ignored;
    if (!words) words = &ignored;
    std::string result;
    while (peek() != kEof) {
      int c = peek();
      if (stop != kEof && c == stop) {
        next();
        return result;
      }
      if (c == '$') {
        std::string v = TRY(dollar());
        words->add_string(v);
        result += v;
      } else if (!lx_.skip_process_quotes && (c == '\'' || c == '"')) {
        std::string v = TRY(c == '\'' ? single_quoted() : double_quoted());
        words->add_raw(v);
        result += v;
      } else if (c == static_cast<unsigned char>(lx_.escape)) {
        next();
        if (raw_escapes_) {
          words->add_raw(std::string(1, lx_.escape));
          result += lx_.escape;
        }
        if (peek() == kEof) break;  // a trailing escape is dropped
        std::string_view r = next_rune();
        words->add_raw(r);
        result += r;
      } else {
        std::string_view r = next_rune();
        words->add(r);
        result += r;
      }
    }
    if (stop != kEof) return invalid("unexpected end of statement while looking for matching " + std::string(1, char(stop)));
    return result;
  }

 private:
  // Sets raw_escapes_ for one until() and puts the old value back.
  struct RawEscapes {
    RawEscapes(Expander& e, bool raw) : e_(e), saved_(e.raw_escapes_) { e.raw_escapes_ = raw; }
    ~RawEscapes() { e_.raw_escapes_ = saved_; }
    RawEscapes(const RawEscapes&) = delete;
    RawEscapes& operator=(const RawEscapes&) = delete;
    Expander& e_;
    bool saved_;
  };

  int peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : kEof; }
  int next() { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_++]) : kEof; }
  std::string_view next_rune() {
    size_t w = go_text::rune_width(text_, pos_);
    std::string_view r = text_.substr(pos_, w);
    pos_ += w;
    return r;
  }

  // '…': everything literal up to the next '.
  Result<std::string> single_quoted() {
    next();
    std::string r = lx_.raw_quotes ? "'" : "";
    for (;;) {
      int c = next();
      if (c == kEof) return invalid("unexpected end of statement while looking for matching single-quote");
      if (c == '\'') {
        if (lx_.raw_quotes) r += '\'';
        return r;
      }
      r += char(c);
    }
  }

  // "…": $ expands; the escape character escapes ", $ and itself and is kept before the rest.
  Result<std::string> double_quoted() {
    next();
    std::string r = lx_.raw_quotes ? "\"" : "";
    for (;;) {
      int c = peek();
      if (c == kEof) return invalid("unexpected end of statement while looking for matching double-quote");
      if (c == '"') {
        next();
        if (lx_.raw_quotes) r += '"';
        return r;
      }
      if (c == '$') {
        r += TRY(dollar());
        continue;
      }
      next();
      if (c == static_cast<unsigned char>(lx_.escape)) {
        // With raw escapes an escape before an ordinary character ends up doubled, as in buildkit
        // (where patterns then read it as one escaped escape character).
        if (raw_escapes_) r += char(c);
        int n = peek();
        if (n == kEof) continue;
        if (n == '"' || n == '$' || n == static_cast<unsigned char>(lx_.escape)) c = next();
      }
      r += char(c);
    }
  }

  // The name after $ or ${: all the digits, one special parameter, or letters, digits and _.
  std::string name() {
    auto digit = [](int c) { return c >= '0' && c <= '9'; };
    std::string n;
    for (int c; (c = peek()) != kEof;) {
      if (n.empty() && digit(c)) {
        while (digit(peek())) n += char(next());
        return n;
      }
      if (n.empty() && std::string_view("@*#?-$!").find(char(c)) != std::string_view::npos) return std::string(1, char(next()));
      if (!digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '_') break;
      n += char(next());
    }
    return n;
  }

  std::optional<std::string> lookup(const std::string& name) {
    std::optional<std::string> v = env_ ? env_(name) : std::nullopt;
    (v ? out_.matched : out_.unmatched).insert(name);
    return v;
  }

  Result<std::string> dollar() {
    next();
    if (peek() != '{') {
      std::string n = name();
      if (n.empty()) return std::string("$");
      auto v = lookup(n);
      if (!v && lx_.skip_unset_env) return "$" + n;
      return v.value_or("");
    }
    next();
    int c = peek();
    if (c == kEof) return invalid("syntax error: missing '}'");
    if (c == '{' || c == '}' || c == ':') return invalid("syntax error: bad substitution");
    std::string n = name();
    if (peek() == kEof) return invalid("syntax error: missing '}'");
    std::string modifier(next_rune());
    if (modifier == "}") {
      auto v = lookup(n);
      if (!v && lx_.skip_unset_env) return "${" + n + "}";
      return v.value_or("");
    }
    if (modifier == "/") return substitution(n);
    bool null_is_unset = modifier == ":";
    if (null_is_unset) {
      if (peek() == kEof) return invalid("syntax error: missing '}'");
      modifier += next_rune();
    }
    char op = modifier.back();
    if (!null_is_unset && std::string_view("+-?#%").find(op) == std::string_view::npos)
      return invalid("unsupported modifier (" + modifier + ") in substitution");
    return modified(n, modifier, op, null_is_unset);
  }

  // ${N<op>word} and ${N:<op>word}.
  Result<std::string> modified(const std::string& n, const std::string& modifier, char op, bool null_is_unset) {
    // Pattern words keep their escapes: the pattern reads them.
    auto word_or = until('}', op == '#' || op == '%', nullptr);
    if (!word_or) {
      if (peek() == kEof) return invalid("syntax error: missing '}'");
      return word_or;
    }
    std::string word = std::move(*word_or);
    auto v = lookup(n);
    if (!v && lx_.skip_unset_env) return "${" + n + modifier + word + "}";
    bool empty = !v || (null_is_unset && v->empty());
    switch (op) {
      case '-': return empty ? word : *v;
      case '+': return empty ? std::string() : word;
      case '?':
        if (!v) return invalid(n + ": " + (word.empty() ? "is not allowed to be unset" : word));
        if (empty) return invalid(n + ": " + (word.empty() ? "is not allowed to be empty" : word));
        return *v;
      case '#':
      case '%': {
        // %% and ## (the word starting with the operator again) want the longest match.
        bool greedy = !word.empty() && word[0] == op;
        std::string_view pattern = std::string_view(word).substr(greedy ? 1 : 0);
        return op == '%' ? trim_suffix(pattern, v.value_or(""), greedy) : trim_prefix(pattern, v.value_or(""), greedy);
      }
      default: return invalid("unsupported modifier (" + modifier + ") in substitution");
    }
  }

  // ${N/pattern/replacement} and ${N//pattern/replacement}.
  Result<std::string> substitution(const std::string& n) {
    bool all = peek() == '/';
    if (all) next();
    auto pattern = until('/', true, nullptr);
    if (!pattern) {
      if (peek() == kEof) return invalid("syntax error: missing '/' in ${}");
      return pattern;
    }
    auto repl = until('}', true, nullptr);
    if (!repl) {
      if (peek() == kEof) return invalid("syntax error: missing '}'");
      return repl;
    }
    auto v = lookup(n);
    // (buildkit writes one '/' back for both forms; the form written is the one read.)
    if (!v && lx_.skip_unset_env) return "${" + n + (all ? "//" : "/") + *pattern + "/" + *repl + "}";
    return replace(*pattern, v.value_or(""), *repl, all);
  }

  const ShellLexer& lx_;
  std::string_view text_;
  const VarLookup& env_;
  Expansion& out_;
  bool raw_escapes_;
  size_t pos_ = 0;
};

// The text as Go's %q shows it (for printable ASCII): in quotes, with \ and " escaped.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : printable(text)) (out += c == '"' ? "\\" : "") += c;
  return out + "\"";
}

}  // namespace

VarLookup env_lookup(std::span<const std::string> entries) {
  auto vars = std::make_shared<std::map<std::string, std::string, std::less<>>>();
  for (const std::string& e : entries) {
    auto eq = e.find('=');
    (*vars)[e.substr(0, eq)] = eq == std::string::npos ? std::string() : e.substr(eq + 1);
  }
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars->find(name);
    if (it == vars->end()) return std::nullopt;
    return it->second;
  };
}

Result<Expansion> ShellLexer::process(std::string_view text, const VarLookup& env) const {
  Expansion out;
  Expander expander(*this, text, env, out);
  WordSplitter words;
  auto word = expander.until(kEof, raw_escapes, &words);
  if (!word) return invalid("failed to process " + quoted(text) + ": " + word.error().message);
  out.word = std::move(*word);
  out.words = words.finish();
  return out;
}

namespace {
void note_used(const Expansion& e, std::set<std::string>* used) {
  if (!used) return;
  used->insert(e.matched.begin(), e.matched.end());
  used->insert(e.unmatched.begin(), e.unmatched.end());
}
}  // namespace

Result<std::string> expand_word(std::string_view word, const VarLookup& env, char escape, std::set<std::string>* used) {
  Expansion e = TRY((ShellLexer{.escape = escape}.process(word, env)));
  note_used(e, used);
  return std::move(e.word);
}

Result<std::vector<std::string>> expand_words(std::string_view text, const VarLookup& env, char escape, std::set<std::string>* used) {
  Expansion e = TRY((ShellLexer{.escape = escape}.process(text, env)));
  note_used(e, used);
  return std::move(e.words);
}

}  // namespace tiffin::build
