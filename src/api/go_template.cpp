#include "api/go_template.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

#include "common/text.hpp"

namespace tiffin::api {

using json = nlohmann::json;

namespace {

constexpr int kMaxDepth = 100;

// ---------------------------------------------------------------- lexing

enum class Tok {
  text,
  left,   // {{
  right,  // }}
  space,
  field,     // .Name (val: Name)
  variable,  // $ or $name (val: with the $)
  identifier,
  keyword,  // if else end range with nil true false break continue define template block
  string,   // val: the unquoted value
  character,
  number,
  lparen,
  rparen,
  pipe,
  declare,  // :=
  assign,   // =
  comma,
  dot,
  eof,
};

struct Token {
  Tok type;
  std::string val;
  size_t pos;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alnum(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || static_cast<unsigned char>(c) >= 0x80;
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "template: :LINE: " for a byte offset of the template, as Go's parse errors say; with the
// column (bytes from 0) as its execution errors do: "template: :LINE:COL: ".
std::string where(std::string_view src, size_t pos, bool column = false) {
  pos = std::min(pos, src.size());
  std::string_view before = src.substr(0, pos);
  size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  size_t nl = before.rfind('\n');
  size_t col = nl == std::string_view::npos ? pos : pos - nl - 1;
  if (!column) return fmt::format("template: :{}: ", line);
  return fmt::format("template: :{}:{}: ", line, col);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one UTF-8 character at s[i]: its code point and length; invalid bytes are (0xFFFD, 1)
// with valid=false.
struct Rune {
  uint32_t cp;
  size_t len;
  bool valid;
};
Rune decode_rune(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c < 0x80) return {c, 1, true};
  size_t n = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return {0xFFFD, 1, false};
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return {0xFFFD, 1, false};
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return {0xFFFD, 1, false};
  return {cp, n, true};
}

size_t rune_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += decode_rune(s, i).len) ++n;
  return n;
}

// The value of a Go "quoted" string or 'c' character whose quote is at src[i]; i moves past it.
Result<std::string> unquote(std::string_view src, size_t& i, char quote) {
  size_t start = i++;
  std::string out;
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (;;) {
    if (i >= src.size() || src[i] == '\n')
      return fail(
          Errc::invalid_input, where(src, start) + (quote == '"' ? "unterminated quoted string" : "unterminated character constant"));
    char c = src[i++];
    if (c == quote) break;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i >= src.size()) continue;
    char e = src[i++];
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"':
      case '\'':
        if (e != quote) return fail(Errc::invalid_input, where(src, start) + "invalid syntax: unknown escape sequence");
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (size_t k = 0; k < n; ++k, ++i) {
          int h = i < src.size() ? hexval(src[i]) : -1;
          if (h < 0) return fail(Errc::invalid_input, where(src, start) + "invalid syntax: bad escape sequence");
          v = v * 16 + static_cast<uint32_t>(h);
        }
        if (e == 'x') out += static_cast<char>(v);
        else if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
          return fail(Errc::invalid_input, where(src, start) + "invalid syntax: escape sequence is invalid Unicode code point");
        else append_utf8(out, v);
        break;
      }
      default: {
        if (e < '0' || e > '7') return fail(Errc::invalid_input, where(src, start) + "invalid syntax: unknown escape sequence");
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (int k = 0; k < 2; ++k, ++i) {
          if (i >= src.size() || src[i] < '0' || src[i] > '7')
            return fail(Errc::invalid_input, where(src, start) + "invalid syntax: bad octal escape");
          v = v * 8 + static_cast<uint32_t>(src[i] - '0');
        }
        if (v > 255) return fail(Errc::invalid_input, where(src, start) + "invalid syntax: octal escape value > 255");
        out += static_cast<char>(v);
      }
    }
  }
  return out;
}

bool has_left_trim(std::string_view s) { return s.size() >= 2 && s[0] == '-' && is_space(s[1]); }

Result<std::vector<Token>> lex(std::string_view src) {
  std::vector<Token> toks;
  size_t i = 0;
  bool trim_next_text = false;
  for (;;) {
    size_t open = src.find("{{", i);
    std::string_view text = src.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i);
    size_t text_pos = i;
    if (trim_next_text)
      while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
        ++text_pos;
      }
    if (open != std::string_view::npos && has_left_trim(src.substr(open + 2)))
      while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    if (!text.empty()) toks.push_back({Tok::text, std::string(text), text_pos});
    trim_next_text = false;
    if (open == std::string_view::npos) break;
    i = open + 2;
    if (has_left_trim(src.substr(i))) i += 2;
    // A comment: /* … */ right after the delimiter (and its trim marker), then the closing one.
    {
      if (src.substr(i).starts_with("/*")) {
        size_t end = src.find("*/", i + 2);
        if (end == std::string_view::npos) return fail(Errc::invalid_input, where(src, open) + "unclosed comment");
        size_t k = end + 2;
        if (src.substr(k).starts_with(" -}}")) {
          trim_next_text = true;
          k += 4;
        } else if (src.substr(k).starts_with("}}")) {
          k += 2;
        } else {
          return fail(Errc::invalid_input, where(src, open) + "comment ends before closing delimiter");
        }
        i = k;
        continue;
      }
    }
    toks.push_back({Tok::left, "{{", open});
    int parens = 0;
    for (;;) {
      if (i >= src.size()) return fail(Errc::invalid_input, where(src, open) + "unclosed action");
      char c = src[i];
      if (is_space(c)) {
        size_t s = i;
        while (i < src.size() && is_space(src[i])) ++i;
        if (src.substr(i).starts_with("-}}")) {
          if (parens > 0) return fail(Errc::invalid_input, where(src, i) + "unclosed left paren");
          toks.push_back({Tok::right, "}}", i});
          i += 3;
          trim_next_text = true;
          break;
        }
        toks.push_back({Tok::space, " ", s});
        continue;
      }
      if (src.substr(i).starts_with("}}")) {
        if (parens > 0) return fail(Errc::invalid_input, where(src, i) + "unclosed left paren");
        toks.push_back({Tok::right, "}}", i});
        i += 2;
        break;
      }
      size_t s = i;
      if (c == '|') toks.push_back({Tok::pipe, "|", i++});
      else if (c == ',') toks.push_back({Tok::comma, ",", i++});
      else if (c == '=') toks.push_back({Tok::assign, "=", i++});
      else if (c == ':') {
        if (i + 1 >= src.size() || src[i + 1] != '=') return fail(Errc::invalid_input, where(src, i) + "expected :=");
        toks.push_back({Tok::declare, ":=", i});
        i += 2;
      } else if (c == '(') {
        if (++parens > kMaxDepth) return fail(Errc::invalid_input, where(src, i) + "too many nested parentheses");
        toks.push_back({Tok::lparen, "(", i++});
      } else if (c == ')') {
        if (--parens < 0) return fail(Errc::invalid_input, where(src, i) + "unexpected right paren");
        toks.push_back({Tok::rparen, ")", i++});
      } else if (c == '"') {
        toks.push_back({Tok::string, TRY(unquote(src, i, '"')), s});
      } else if (c == '\'') {
        std::string v = TRY(unquote(src, i, '\''));
        if (v.empty() || decode_rune(v, 0).len != v.size())
          return fail(Errc::invalid_input, where(src, s) + "malformed character constant");
        auto r = decode_rune(v, 0);
        toks.push_back({Tok::character, std::to_string(r.valid ? r.cp : static_cast<unsigned char>(v[0])), s});
      } else if (c == '`') {
        size_t end = src.find('`', i + 1);
        if (end == std::string_view::npos) return fail(Errc::invalid_input, where(src, i) + "unterminated raw quoted string");
        toks.push_back({Tok::string, std::string(src.substr(i + 1, end - i - 1)), s});
        i = end + 1;
      } else if (c == '$') {
        ++i;
        while (i < src.size() && is_alnum(src[i])) ++i;
        toks.push_back({Tok::variable, std::string(src.substr(s, i - s)), s});
      } else if (c == '.' && !(i + 1 < src.size() && is_digit(src[i + 1]))) {
        ++i;
        while (i < src.size() && is_alnum(src[i])) ++i;
        if (i == s + 1) toks.push_back({Tok::dot, ".", s});
        else toks.push_back({Tok::field, std::string(src.substr(s + 1, i - s - 1)), s});
      } else if (c == '+' || c == '-' || c == '.' || is_digit(c)) {
        ++i;
        while (i < src.size()) {
          char d = src[i];
          if ((d == '+' || d == '-') && (src[i - 1] == 'e' || src[i - 1] == 'E' || src[i - 1] == 'p' || src[i - 1] == 'P')) ++i;
          else if (is_alnum(d) || d == '.') ++i;
          else break;
        }
        toks.push_back({Tok::number, std::string(src.substr(s, i - s)), s});
      } else if (is_alnum(c)) {
        while (i < src.size() && is_alnum(src[i])) ++i;
        std::string word(src.substr(s, i - s));
        static const char* const keywords[] = {
            "if", "else", "end", "range", "with", "nil", "true", "false", "break", "continue", "define", "template", "block"};
        bool kw = std::find_if(std::begin(keywords), std::end(keywords), [&](const char* k) { return word == k; }) != std::end(keywords);
        toks.push_back({kw ? Tok::keyword : Tok::identifier, word, s});
      } else {
        auto r = decode_rune(src, i);
        return fail(Errc::invalid_input, where(src, i) + fmt::format("unrecognized character in action: U+{:04X}", r.cp));
      }
    }
  }
  toks.push_back({Tok::eof, "", src.size()});
  return toks;
}

// A Go number literal: an integer (int64, else uint64) or a float.
std::optional<json> parse_number(std::string_view text) {
  std::string t;
  for (char c : text)
    if (c != '_') t += c;
  if (t.empty()) return std::nullopt;
  bool neg = t[0] == '-';
  std::string_view body = t;
  if (t[0] == '-' || t[0] == '+') body.remove_prefix(1);
  if (body.empty()) return std::nullopt;
  auto integer = [&](std::string_view digits, int base) -> std::optional<json> {
    auto u = parse_uint<uint64_t>(digits, base);
    if (!u) return std::nullopt;
    if (!neg) return *u <= static_cast<uint64_t>(INT64_MAX) ? json(static_cast<int64_t>(*u)) : json(*u);
    if (*u > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return json(static_cast<int64_t>(0 - *u));
  };
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) return integer(body.substr(2), 16);
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) return integer(body.substr(2), 8);
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) return integer(body.substr(2), 2);
  if (body.find_first_of(".eE") == std::string_view::npos) {
    if (body.size() > 1 && body[0] == '0') return integer(body.substr(1), 8);
    return integer(body, 10);
  }
  double v = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v, std::chars_format::general);
  if (ec != std::errc() || end != body.data() + body.size() || !std::isfinite(v)) return std::nullopt;
  return json(neg ? -v : v);
}

// ---------------------------------------------------------------- the tree

enum class ArgKind { field, variable, dot, nil, constant, identifier, pipe, chain };

struct Pipe;
struct Arg {
  ArgKind kind = ArgKind::nil;
  size_t pos = 0, len = 0;          // the source text, for messages
  size_t at = 0;                    // where messages say it is: as Go's, a chain's second part (.A.B: .B)
  std::vector<std::string> fields;  // field: .A.B; variable: $x.A.B (the name in `name`); chain: (…).A
  std::string name;                 // variable, identifier
  json constant;                    // bool, number, string
  std::shared_ptr<Pipe> pipe;       // pipe, chain
};

struct Command {
  size_t pos = 0, len = 0;
  std::vector<Arg> args;
};

struct Pipe {
  size_t pos = 0, len = 0;
  std::vector<std::string> decl;
  bool assign = false;
  std::vector<Command> cmds;
};

enum class NodeKind { text, action, if_, with, range, break_, continue_ };

struct Node {
  NodeKind kind = NodeKind::text;
  size_t pos = 0;
  std::string text;
  std::shared_ptr<Pipe> pipe;
  std::vector<Node> list, else_list;
};

// ---------------------------------------------------------------- parsing

const std::vector<std::string_view>& function_names() {
  static const std::vector<std::string_view> names = {"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "slice",
      "print", "println", "printf", "json", "join", "split", "lower", "upper", "title", "truncate", "pad"};
  return names;
}

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> toks) : src_(src), toks_(std::move(toks)) {}

  Result<std::vector<Node>> parse() {
    vars_ = {"$"};
    Stop stop;
    auto list = TRY(parse_list(stop));
    if (stop.kind != Stop::eof) return error(stop.pos, stop.kind == Stop::end ? "unexpected {{end}}" : "unexpected {{else}}");
    return list;
  }

 private:
  struct Stop {
    enum Kind { eof, end, else_ } kind = eof;
    size_t pos = 0;
    std::string else_keyword;  // "if" or "with" for {{else if …}}, left unconsumed
  };

  std::string_view src_;
  std::vector<Token> toks_;
  size_t at_ = 0;
  int depth_ = 0;
  int range_depth_ = 0;
  std::vector<std::string> vars_;

  std::unexpected<Error> error(size_t pos, const std::string& what) const { return fail(Errc::invalid_input, where(src_, pos) + what); }
  const Token& peek() const { return toks_[at_]; }
  const Token& next() { return toks_[at_ < toks_.size() - 1 ? at_++ : at_]; }
  void skip_space() {
    while (peek().type == Tok::space) ++at_;
  }
  const Token& peek_non_space() {
    skip_space();
    return peek();
  }
  const Token& next_non_space() {
    skip_space();
    return next();
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::eof: return "EOF";
      case Tok::right: return "}}";
      case Tok::string: return "quoted string";
      default: return "\"" + t.val + "\"";
    }
  }
  std::unexpected<Error> unexpected(const Token& t, const std::string& context) const {
    if (t.type == Tok::eof) return error(t.pos, "unexpected EOF");
    return error(t.pos, "unexpected " + describe(t) + " in " + context);
  }
  Result<void> expect_right(const std::string& context) {
    const Token& t = next_non_space();
    if (t.type != Tok::right) return unexpected(t, context);
    return {};
  }

  Result<std::vector<Node>> parse_list(Stop& stop) {
    if (++depth_ > kMaxDepth) return error(peek().pos, "template nesting too deep");
    std::vector<Node> list;
    for (;;) {
      const Token& t = next();
      if (t.type == Tok::eof) {
        stop = {Stop::eof, t.pos, ""};
        break;
      }
      if (t.type == Tok::text) {
        list.push_back({NodeKind::text, t.pos, t.val, nullptr, {}, {}});
        continue;
      }
      // t is {{
      size_t pos = t.pos;
      const Token& k = peek_non_space();
      if (k.type == Tok::keyword && k.val == "end") {
        next();
        TRY(expect_right("end"));
        stop = {Stop::end, pos, ""};
        break;
      }
      if (k.type == Tok::keyword && k.val == "else") {
        next();
        const Token& after = peek_non_space();
        if (after.type == Tok::keyword && (after.val == "if" || after.val == "with")) {
          stop = {Stop::else_, pos, after.val};
          next();
        } else {
          TRY(expect_right("else"));
          stop = {Stop::else_, pos, ""};
        }
        break;
      }
      list.push_back(TRY(parse_action(pos)));
    }
    --depth_;
    return list;
  }

  Result<Node> parse_action(size_t pos) {
    const Token& k = peek_non_space();
    if (k.type == Tok::keyword) {
      if (k.val == "if" || k.val == "with" || k.val == "range") {
        std::string word = next().val;
        return parse_control(word, pos);
      }
      if (k.val == "break" || k.val == "continue") {
        std::string word = next().val;
        if (range_depth_ == 0) return error(pos, "{{" + word + "}} outside {{range}}");
        TRY(expect_right(word));
        return Node{word == "break" ? NodeKind::break_ : NodeKind::continue_, pos, "", nullptr, {}, {}};
      }
      if (k.val == "define" || k.val == "template" || k.val == "block") return error(k.pos, "{{" + k.val + "}} is not supported");
    }
    auto pipe = TRY(parse_pipeline("command", Tok::right));
    return Node{NodeKind::action, pos, "", std::move(pipe), {}, {}};
  }

  // After {{if / {{with / {{range (or the "if"/"with" of {{else if …}}).
  Result<Node> parse_control(const std::string& word, size_t pos) {
    if (++depth_ > kMaxDepth) return error(pos, "template nesting too deep");
    size_t mark = vars_.size();
    Node n;
    n.kind = word == "if" ? NodeKind::if_ : word == "with" ? NodeKind::with : NodeKind::range;
    n.pos = pos;
    n.pipe = TRY(parse_pipeline(word, Tok::right));
    if (n.kind == NodeKind::range) ++range_depth_;
    Stop stop;
    n.list = TRY(parse_list(stop));
    if (n.kind == NodeKind::range) --range_depth_;
    if (stop.kind == Stop::eof) return error(stop.pos, "unexpected EOF");
    if (stop.kind == Stop::else_) {
      if (!stop.else_keyword.empty()) {
        if (stop.else_keyword != word) return error(stop.pos, "unexpected \"" + stop.else_keyword + "\" in else");
        // {{if a}}…{{else if b}}…{{end}} is {{if a}}…{{else}}{{if b}}…{{end}}{{end}}: one {{end}}.
        n.else_list.push_back(TRY(parse_control(word, stop.pos)));
      } else {
        Stop stop2;
        n.else_list = TRY(parse_list(stop2));
        if (stop2.kind != Stop::end) return error(stop2.pos, stop2.kind == Stop::eof ? "unexpected EOF" : "expected end; found {{else}}");
      }
    }
    vars_.resize(mark);
    --depth_;
    return n;
  }

  bool has_var(const std::string& name) const { return std::find(vars_.begin(), vars_.end(), name) != vars_.end(); }

  Result<std::shared_ptr<Pipe>> parse_pipeline(const std::string& context, Tok end) {
    auto pipe = std::make_shared<Pipe>();
    pipe->pos = peek_non_space().pos;
    // Declarations: $x := / $x = / $i, $e := (range).
    for (;;) {
      skip_space();
      if (peek().type != Tok::variable) break;
      size_t save = at_;
      const Token& v = next();
      std::string name = v.val;
      const Token& after = peek_non_space();
      if (after.type == Tok::declare || after.type == Tok::assign) {
        bool assign = after.type == Tok::assign;
        next();
        if (assign && !has_var(name)) return error(v.pos, "undefined variable \"" + name + "\"");
        if (name == "$" && !assign) return error(v.pos, "cannot declare $");
        pipe->decl.push_back(name);
        pipe->assign = assign;
        break;
      }
      if (after.type == Tok::comma && context == "range" && pipe->decl.empty()) {
        next();
        pipe->decl.push_back(name);
        continue;
      }
      if (!pipe->decl.empty()) return error(after.pos, "range can only initialize variables");
      at_ = save;
      break;
    }
    if (pipe->decl.size() == 2 && pipe->assign) return error(pipe->pos, "range can only initialize variables");
    bool want_command = true;
    for (;;) {
      const Token& t = next_non_space();
      if (t.type == end) {
        if (want_command) return error(t.pos, "missing value for " + context);
        break;
      }
      switch (t.type) {
        case Tok::keyword:
          if (t.val != "nil" && t.val != "true" && t.val != "false") return unexpected(t, context);
          [[fallthrough]];
        case Tok::character:
        case Tok::dot:
        case Tok::field:
        case Tok::identifier:
        case Tok::number:
        case Tok::string:
        case Tok::variable:
        case Tok::lparen: {
          if (!want_command) return unexpected(t, context);
          --at_;
          Command cmd = TRY(parse_command());
          if (!pipe->cmds.empty() && !cmd.args.empty()) {
            ArgKind k = cmd.args[0].kind;
            if (k == ArgKind::constant || k == ArgKind::dot || k == ArgKind::nil)
              return error(cmd.pos, fmt::format("non executable command in pipeline stage {}", pipe->cmds.size() + 1));
          }
          pipe->cmds.push_back(std::move(cmd));
          // parse_command stops before `end` or after a `|`.
          want_command = at_ > 0 && toks_[at_ - 1].type == Tok::pipe;
          break;
        }
        default: return unexpected(t, context);
      }
    }
    pipe->len = toks_[at_ - 1].pos - pipe->pos;
    for (const auto& d : pipe->decl)
      if (!pipe->assign) vars_.push_back(d);
    return pipe;
  }

  Result<Command> parse_command() {
    Command cmd;
    cmd.pos = peek_non_space().pos;
    for (;;) {
      skip_space();
      auto operand = TRY(parse_operand());
      if (operand) cmd.args.push_back(std::move(*operand));
      const Token& t = next();
      if (t.type == Tok::space) continue;
      if (t.type == Tok::right || t.type == Tok::rparen) {
        --at_;
      } else if (t.type != Tok::pipe) {
        return unexpected(t, "operand");
      }
      break;
    }
    if (cmd.args.empty()) return error(cmd.pos, "empty command");
    const Arg& last = cmd.args.back();
    cmd.len = last.pos + last.len - cmd.pos;
    return cmd;
  }

  Result<std::optional<Arg>> parse_operand() {
    auto term = TRY(parse_term());
    if (!term) return term;
    if (peek().type == Tok::field) {
      Arg& a = *term;
      if (a.kind == ArgKind::constant || a.kind == ArgKind::nil || a.kind == ArgKind::dot || a.kind == ArgKind::identifier)
        return error(peek().pos, "unexpected . after term \"" + std::string(src_.substr(a.pos, a.len)) + "\"");
      if (a.kind == ArgKind::pipe) a.kind = ArgKind::chain;
      a.at = peek().pos;
      while (peek().type == Tok::field) {
        const Token& f = next();
        a.fields.push_back(f.val);
        a.len = f.pos + 1 + f.val.size() - a.pos;
      }
    }
    return term;
  }

  Result<std::optional<Arg>> parse_term() {
    const Token& t = next_non_space();
    Arg a;
    a.pos = a.at = t.pos;
    a.len = t.type == Tok::string || t.type == Tok::character ? 0 : t.val.size();
    switch (t.type) {
      case Tok::identifier:
        if (std::find(function_names().begin(), function_names().end(), t.val) == function_names().end())
          return error(t.pos, "function \"" + t.val + "\" not defined");
        a.kind = ArgKind::identifier;
        a.name = t.val;
        return a;
      case Tok::dot: a.kind = ArgKind::dot; return a;
      case Tok::keyword:
        if (t.val == "nil") {
          a.kind = ArgKind::nil;
          return a;
        }
        if (t.val == "true" || t.val == "false") {
          a.kind = ArgKind::constant;
          a.constant = t.val == "true";
          return a;
        }
        break;
      case Tok::variable:
        if (!has_var(t.val)) return error(t.pos, "undefined variable \"" + t.val + "\"");
        a.kind = ArgKind::variable;
        a.name = t.val;
        return a;
      case Tok::field:
        a.kind = ArgKind::field;
        a.fields.push_back(t.val);
        a.len = t.val.size() + 1;
        return a;
      case Tok::number:
      case Tok::character: {
        auto n = parse_number(t.val);
        if (!n) return error(t.pos, "bad number syntax: \"" + t.val + "\"");
        a.kind = ArgKind::constant;
        a.constant = std::move(*n);
        if (t.type == Tok::character) a.len = 3;
        return a;
      }
      case Tok::string: {
        a.kind = ArgKind::constant;
        a.constant = t.val;
        // The source extent of the literal (for messages): up to the next token.
        a.len = toks_[at_].pos - t.pos;
        return a;
      }
      case Tok::lparen: {
        if (++depth_ > kMaxDepth) return error(t.pos, "template nesting too deep");
        a.kind = ArgKind::pipe;
        a.pipe = TRY(parse_pipeline("parenthesized pipeline", Tok::rparen));
        --depth_;
        a.len = toks_[at_ - 1].pos + 1 - t.pos;
        return a;
      }
      default: break;
    }
    --at_;
    return std::optional<Arg>{};
  }
};

// ---------------------------------------------------------------- printing (Go's fmt)

std::string go_type(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::boolean: return "bool";
    case json::value_t::number_integer: return "int";
    case json::value_t::number_unsigned: return v.get<uint64_t>() <= INT64_MAX ? "int" : "uint64";  // JSON parses 42 unsigned
    case json::value_t::number_float: return "float64";
    case json::value_t::string: return "string";
    case json::value_t::array: return "[]interface {}";
    case json::value_t::object: return "map[string]interface {}";
    default: return "interface {}";
  }
}

// Shortest %v/%g of a float as Go prints it (strconv's 'g' with precision -1): %e when the
// exponent is < -4 or >= 6 (1e+06, 1.234567e+06), else plain (123456, 0.0001).
std::string go_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  bool neg = s[0] == '-';
  if (neg) s.remove_prefix(1);
  size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e))
    if (c != '.') digits += c;
  int exp = parse_int<int>(s.substr(e + 1)[0] == '+' ? s.substr(e + 2) : s.substr(e + 1)).value_or(0);
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
    return out;
  }
  if (exp < 0) return out + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  size_t point = static_cast<size_t>(exp) + 1;
  if (digits.size() <= point) return out + digits + std::string(point - digits.size(), '0');
  return out + digits.substr(0, point) + "." + digits.substr(point);
}

void print_to(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::null: out += "<nil>"; break;
    case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); break;
    case json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); break;
    case json::value_t::number_float: out += go_float(v.get<double>()); break;
    case json::value_t::string: out += v.get_ref<const std::string&>(); break;
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ' ';
        first = false;
        print_to(out, e);
      }
      out += ']';
      break;
    }
    case json::value_t::object: {
      out += "map[";
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out += ' ';
        first = false;
        out += k;
        out += ':';
        print_to(out, e);
      }
      out += ']';
      break;
    }
    default: out += "<nil>";
  }
}

// ---- printf

struct Spec {
  bool minus = false, plus = false, sharp = false, zero = false, space = false;
  std::optional<int> width, prec;
  char verb = 'v';
};

std::string pad(std::string s, const Spec& sp, bool numeric) {
  if (!sp.width) return s;
  size_t n = rune_count(s);
  size_t w = static_cast<size_t>(*sp.width);
  if (n >= w) return s;
  std::string fill(w - n, ' ');
  if (sp.minus) return s + fill;
  if (sp.zero) {
    fill.assign(w - n, '0');
    // Zeros go after a sign.
    if (numeric && !s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) return s.substr(0, 1) + fill + s.substr(1);
  }
  return fill + s;
}

std::string bad_verb(const Spec& sp, const json& v) {
  if (v.is_null()) return fmt::format("%!{}(<nil>)", sp.verb);
  return fmt::format("%!{}({}={})", sp.verb, go_type(v), go_print(v));
}

std::string format_integer(const json& v, const Spec& sp) {
  bool neg = v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0;
  uint64_t mag = v.is_number_unsigned() ? v.get<uint64_t>()
                 : neg                  ? 0 - static_cast<uint64_t>(v.get<int64_t>())
                                        : static_cast<uint64_t>(v.get<int64_t>());
  int base = sp.verb == 'x' || sp.verb == 'X' ? 16 : sp.verb == 'o' ? 8 : sp.verb == 'b' ? 2 : 10;
  char buf[80];
  auto r = std::to_chars(buf, buf + sizeof buf, mag, base);
  std::string digits(buf, r.ptr);
  if (sp.verb == 'X')
    for (auto& c : digits) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (sp.prec) {
    if (*sp.prec == 0 && mag == 0) digits.clear();
    else if (digits.size() < static_cast<size_t>(*sp.prec)) digits.insert(0, static_cast<size_t>(*sp.prec) - digits.size(), '0');
  }
  if (sp.sharp) {
    if (base == 16) digits.insert(0, sp.verb == 'X' ? "0X" : "0x");
    else if (base == 8 && (digits.empty() || digits[0] != '0')) digits.insert(0, "0");
    else if (base == 2) digits.insert(0, "0b");
  }
  std::string sign = neg ? "-" : sp.plus ? "+" : sp.space ? " " : "";
  Spec s2 = sp;
  if (sp.prec) s2.zero = false;  // Go: a precision turns off zero padding
  return pad(sign + digits, s2, true);
}

std::string format_float(double d, const Spec& sp) {
  std::string s;
  char verb = sp.verb;
  if (!std::isfinite(d)) s = go_float(d);
  else if (verb == 'v' || ((verb == 'g' || verb == 'G') && !sp.prec)) s = go_float(d);
  else if (verb == 'f' || verb == 'F') s = fmt::format("{:.{}f}", d, sp.prec.value_or(6));
  else if (verb == 'e') s = fmt::format("{:.{}e}", d, sp.prec.value_or(6));
  else if (verb == 'E') s = fmt::format("{:.{}E}", d, sp.prec.value_or(6));
  else if (verb == 'g') s = fmt::format("{:.{}g}", d, std::max(1, *sp.prec));
  else s = fmt::format("{:.{}G}", d, std::max(1, *sp.prec));
  if (verb == 'G' && !sp.prec)
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!s.empty() && s[0] != '-' && s[0] != '+') {
    if (sp.plus) s = "+" + s;
    else if (sp.space) s = " " + s;
  }
  return pad(s, sp, std::isfinite(d));
}

std::string format_one(const json& v, const Spec& sp);

std::string format_elements(const json& v, const Spec& sp) {
  Spec inner = sp;
  inner.width.reset();
  std::string out = v.is_object() ? "map[" : "[";
  bool first = true;
  if (v.is_object()) {
    for (const auto& [k, e] : v.items()) {
      if (!first) out += ' ';
      first = false;
      out += format_one(json(k), inner) + ":" + format_one(e, inner);
    }
  } else {
    for (const auto& e : v) {
      if (!first) out += ' ';
      first = false;
      out += format_one(e, inner);
    }
  }
  return pad(out + "]", sp, false);
}

std::string format_one(const json& v, const Spec& sp) {
  switch (sp.verb) {
    case 'v':
      if (v.is_number_float()) return format_float(v.get<double>(), sp);
      if (v.is_number_integer()) return format_integer(v, Spec{sp.minus, sp.plus, false, sp.zero, sp.space, sp.width, sp.prec, 'd'});
      return pad(go_print(v), sp, false);
    case 's':
    case 'q':
      if (v.is_array() || v.is_object()) return format_elements(v, sp);
      if (v.is_string()) {
        std::string s = v.get<std::string>();
        if (sp.prec) {
          size_t i = 0, n = 0;
          while (i < s.size() && n < static_cast<size_t>(*sp.prec)) {
            i += decode_rune(s, i).len;
            ++n;
          }
          s.resize(i);
        }
        if (sp.verb == 'q') s = sp.sharp && s.find('`') == std::string::npos ? "`" + s + "`" : go_quote(s);
        return pad(s, sp, false);
      }
      if (sp.verb == 'q' && v.is_number_integer()) {
        std::string ch;
        append_utf8(ch, static_cast<uint32_t>(std::clamp<int64_t>(v.get<int64_t>(), 0, 0x10FFFF)));
        std::string q = go_quote(ch);
        return pad("'" + (ch == "'" ? std::string("\\'") : ch == "\"" ? ch : q.substr(1, q.size() - 2)) + "'", sp, false);
      }
      return bad_verb(sp, v);
    case 'd':
    case 'o':
    case 'b':
    case 'x':
    case 'X':
      if (v.is_array() || v.is_object()) return format_elements(v, sp);
      if (v.is_number_integer()) return format_integer(v, sp);
      if (v.is_number_float() && std::nearbyint(v.get<double>()) == v.get<double>() && std::abs(v.get<double>()) < 9e18)
        return format_integer(json(static_cast<int64_t>(v.get<double>())), sp);
      if ((sp.verb == 'x' || sp.verb == 'X') && v.is_string()) {
        std::string out;
        for (unsigned char c : v.get<std::string>()) out += sp.verb == 'x' ? fmt::format("{:02x}", c) : fmt::format("{:02X}", c);
        return pad(out, sp, false);
      }
      return bad_verb(sp, v);
    case 'c':
      if (v.is_number_integer()) {
        std::string ch;
        append_utf8(ch, static_cast<uint32_t>(std::clamp<int64_t>(v.get<int64_t>(), 0, 0x10FFFF)));
        return pad(ch, sp, false);
      }
      return bad_verb(sp, v);
    case 't':
      if (v.is_boolean()) return pad(v.get<bool>() ? "true" : "false", sp, false);
      return bad_verb(sp, v);
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (v.is_array() || v.is_object()) return format_elements(v, sp);
      if (v.is_number()) return format_float(v.get<double>(), sp);
      return bad_verb(sp, v);
    default: return bad_verb(sp, v);
  }
}

// ---------------------------------------------------------------- execution

struct Value {
  std::shared_ptr<const json> owner;  // keeps `p` alive when it is not in the data or the tree
  const json* p = nullptr;            // nullptr: missing (Go's invalid value, printed <no value>)

  static Value of(json j) {
    auto o = std::make_shared<const json>(std::move(j));
    return {o, o.get()};
  }
  static Value ref(const json& j) { return {nullptr, &j}; }
  Value sub(const json& j) const { return {owner, &j}; }
  bool missing() const { return p == nullptr; }
  const json& get() const {
    static const json null_value;
    return p ? *p : null_value;
  }
};

bool truth(const Value& v) {
  if (v.missing()) return false;
  const json& j = *v.p;
  switch (j.type()) {
    case json::value_t::null: return false;
    case json::value_t::boolean: return j.get<bool>();
    case json::value_t::number_integer: return j.get<int64_t>() != 0;
    case json::value_t::number_unsigned: return j.get<uint64_t>() != 0;
    case json::value_t::number_float: return j.get<double>() != 0;
    case json::value_t::string: return !j.get_ref<const std::string&>().empty();  // json::empty() is false for any string
    case json::value_t::array:
    case json::value_t::object: return !j.empty();
    default: return true;
  }
}

// -1, 0, 1 for two numbers (integers exactly, else as doubles).
int compare_numbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    bool an = !a.is_number_unsigned() && a.get<int64_t>() < 0, bn = !b.is_number_unsigned() && b.get<int64_t>() < 0;
    if (an != bn) return an ? -1 : 1;
    if (an) return a.get<int64_t>() < b.get<int64_t>() ? -1 : a.get<int64_t>() > b.get<int64_t>();
    uint64_t x = a.get<uint64_t>(), y = b.get<uint64_t>();
    return x < y ? -1 : x > y;
  }
  double x = a.get<double>(), y = b.get<double>();
  return x < y ? -1 : x > y;
}

enum class Flow { normal, break_, continue_ };

}  // namespace

struct GoTemplate::Impl {
  std::string src;
  std::vector<Node> root;
};

namespace {

class Exec {
 public:
  Exec(const GoTemplate::Impl& t, std::string& out, const ExecOptions& opts, const json& data)
      : t_(t), out_(out), opts_(opts), data_(&data) {
    vars_.push_back({"$", Value::ref(data)});
  }

  Result<void> run() {
    TRY(walk(Value::ref(*data_), t_.root));
    return {};
  }

 private:
  const GoTemplate::Impl& t_;
  std::string& out_;
  const ExecOptions& opts_;
  const json* data_;
  std::vector<std::pair<std::string, Value>> vars_;
  uint64_t steps_ = 0;
  uint64_t bytes_ = 0;

  std::unexpected<Error> error(size_t pos, size_t len, const std::string& what) const { return error_at(pos, pos, len, what); }
  std::unexpected<Error> error_at(size_t at, size_t pos, size_t len, const std::string& what) const {
    std::string node(std::string_view(t_.src).substr(std::min(pos, t_.src.size()), len));
    return fail(Errc::invalid_input, where(t_.src, at, true) + "executing \"\" at <" + printable(node) + ">: " + what);
  }
  std::unexpected<Error> error(const Arg& a, const std::string& what) const { return error_at(a.at, a.pos, a.len, what); }

  Result<void> step(size_t pos) {
    if (++steps_ > opts_.max_steps) return error(pos, 0, "template takes too many steps");
    return {};
  }
  Result<void> charge(size_t pos, size_t n) {
    bytes_ += n;
    if (bytes_ > opts_.max_bytes) return error(pos, 0, "template output too large");
    return {};
  }
  Result<void> write(size_t pos, std::string_view s) {
    TRY(charge(pos, s.size()));
    out_ += s;
    return {};
  }

  Result<Flow> walk(const Value& dot, const std::vector<Node>& list) {
    for (const Node& n : list) {
      TRY(step(n.pos));
      switch (n.kind) {
        case NodeKind::text: TRY(write(n.pos, n.text)); break;
        case NodeKind::action: {
          Value v = TRY(eval_pipeline(dot, *n.pipe));
          if (n.pipe->decl.empty()) {
            std::string s;
            if (v.missing()) s = "<no value>";
            else print_to(s, *v.p);
            TRY(write(n.pos, s));
          }
          break;
        }
        case NodeKind::if_:
        case NodeKind::with: {
          size_t mark = vars_.size();
          Value v = TRY(eval_pipeline(dot, *n.pipe));
          Flow f = Flow::normal;
          if (truth(v)) f = TRY(walk(n.kind == NodeKind::with ? v : dot, n.list));
          else f = TRY(walk(dot, n.else_list));
          vars_.resize(mark);
          if (f != Flow::normal) return f;
          break;
        }
        case NodeKind::range: {
          size_t mark = vars_.size();
          Flow f = TRY(walk_range(dot, n));
          vars_.resize(mark);
          if (f != Flow::normal) return f;
          break;
        }
        case NodeKind::break_: return Flow::break_;
        case NodeKind::continue_: return Flow::continue_;
      }
    }
    return Flow::normal;
  }

  Result<Flow> walk_range(const Value& dot, const Node& n) {
    Value v = TRY(eval_pipeline(dot, *n.pipe));
    const Pipe& p = *n.pipe;
    // One iteration: the variables declared get the key/index and the element.
    auto one = [&](const Value& key, const Value& elem) -> Result<bool> {
      TRY(step(n.pos));
      if (!p.decl.empty()) vars_[vars_.size() - 1].second = elem;
      if (p.decl.size() == 2) vars_[vars_.size() - 2].second = key;
      size_t mark = vars_.size();
      Flow f = TRY(walk(elem, n.list));
      vars_.resize(mark);
      return f != Flow::break_;
    };
    bool any = false;
    if (!v.missing()) {
      const json& j = *v.p;
      if (j.is_array()) {
        for (size_t i = 0; i < j.size(); ++i) {
          any = true;
          if (!TRY(one(Value::of(json(static_cast<int64_t>(i))), v.sub(j[i])))) break;
        }
      } else if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
          any = true;
          if (!TRY(one(Value::of(json(it.key())), v.sub(it.value())))) break;
        }
      } else if (j.is_number_integer()) {
        if (p.decl.size() == 2) return error(p.pos, p.len, "can't use two variables to range over an integer");
        int64_t count = j.is_number_unsigned() ? INT64_MAX : j.get<int64_t>();
        for (int64_t i = 0; i < count; ++i) {
          any = true;
          Value iv = Value::of(json(i));
          if (!TRY(one(iv, iv))) break;
        }
      } else if (!j.is_null()) {
        return error(p.pos, p.len, "range can't iterate over " + go_print(j));
      }
    }
    if (!any) return walk(dot, n.else_list);
    return Flow::normal;
  }

  Result<Value> eval_pipeline(const Value& dot, const Pipe& p) {
    std::optional<Value> final;
    for (const Command& c : p.cmds) final = TRY(eval_command(dot, c, final));
    Value v = final.value_or(Value{});
    for (const auto& name : p.decl) {
      if (p.assign) {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
          if (it->first == name) {
            it->second = v;
            break;
          }
      } else {
        vars_.push_back({name, v});
      }
    }
    return v;
  }

  Result<void> not_a_function(const Command& c, const std::optional<Value>& final) {
    if (c.args.size() > 1 || final) return error(c.args[0], "can't give argument to non-function " + arg_text(c.args[0]));
    return {};
  }
  std::string arg_text(const Arg& a) const { return std::string(std::string_view(t_.src).substr(std::min(a.pos, t_.src.size()), a.len)); }

  Value var(const std::string& name) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->first == name) return it->second;
    return {};
  }

  Result<Value> eval_command(const Value& dot, const Command& c, const std::optional<Value>& final) {
    TRY(step(c.pos));
    const Arg& first = c.args[0];
    switch (first.kind) {
      case ArgKind::field: return eval_fields(dot, first, dot, first.fields, &c, final);
      case ArgKind::chain: {
        Value base = TRY(eval_pipeline(dot, *first.pipe));
        return eval_fields(dot, first, base, first.fields, &c, final);
      }
      case ArgKind::variable: {
        Value v = var(first.name);
        if (first.fields.empty()) {
          TRY(not_a_function(c, final));
          return v;
        }
        return eval_fields(dot, first, v, first.fields, &c, final);
      }
      case ArgKind::identifier: return eval_function(dot, first, &c, final);
      case ArgKind::pipe: TRY(not_a_function(c, final)); return eval_pipeline(dot, *first.pipe);
      case ArgKind::constant: TRY(not_a_function(c, final)); return Value::ref(first.constant);
      case ArgKind::dot: TRY(not_a_function(c, final)); return dot;
      case ArgKind::nil: return error(first, "nil is not a command");
    }
    return Value{};
  }

  // The value of an argument (not the first word of a command): functions are called with none.
  Result<Value> eval_arg(const Value& dot, const Arg& a) {
    TRY(step(a.pos));
    switch (a.kind) {
      case ArgKind::field: return eval_fields(dot, a, dot, a.fields, nullptr, std::nullopt);
      case ArgKind::chain: {
        Value base = TRY(eval_pipeline(dot, *a.pipe));
        return eval_fields(dot, a, base, a.fields, nullptr, std::nullopt);
      }
      case ArgKind::variable: {
        Value v = var(a.name);
        if (a.fields.empty()) return v;
        return eval_fields(dot, a, v, a.fields, nullptr, std::nullopt);
      }
      case ArgKind::identifier: return eval_function(dot, a, nullptr, std::nullopt);
      case ArgKind::pipe: return eval_pipeline(dot, *a.pipe);
      case ArgKind::constant: return Value::ref(a.constant);
      case ArgKind::dot: return dot;
      case ArgKind::nil: return Value::of(nullptr);
    }
    return Value{};
  }

  // .A.B.C from `receiver`; the last field gets the command's other arguments and `final` (an
  // error unless it is a method of the data).
  Result<Value> eval_fields(const Value& dot, const Arg& node, Value receiver, const std::vector<std::string>& fields, const Command* c,
      const std::optional<Value>& final) {
    bool has_args = (c && c->args.size() > 1) || final.has_value();
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string& name = fields[i];
      bool last = i + 1 == fields.size();
      if (receiver.missing()) {
        if (opts_.missing_key_error) return error(node, "nil data; no entry for key \"" + name + "\"");
        return Value{};
      }
      const json& r = *receiver.p;
      if (r.is_object()) {
        auto it = r.find(name);
        if (it == r.end() && receiver.p == data_ && opts_.methods) {
          auto m = opts_.methods->find(name);
          if (m != opts_.methods->end()) {
            std::vector<json> args;
            if (last && c)
              for (size_t k = 1; k < c->args.size(); ++k) args.push_back(TRY(eval_arg(dot, c->args[k])).get());
            if (last && final) args.push_back(final->get());
            auto res = m->second(args);
            if (!res) return error(node, "error calling " + name + ": " + res.error().message);
            receiver = Value::of(std::move(*res));
            continue;
          }
        }
        if (last && has_args) return error(node, name + " is not a method but has arguments");
        if (it == r.end()) {
          if (opts_.missing_key_error) return error(node, "map has no entry for key \"" + name + "\"");
          receiver = Value{};
        } else {
          receiver = receiver.sub(*it);
        }
        continue;
      }
      if (r.is_null()) return error(node, "nil pointer evaluating interface {}." + name);
      return error(node, "can't evaluate field " + name + " in type " + go_type(r));
    }
    return receiver;
  }

  Result<Value> eval_function(const Value& dot, const Arg& ident, const Command* c, const std::optional<Value>& final) {
    const std::string& name = ident.name;
    size_t nargs = (c ? c->args.size() - 1 : 0) + (final ? 1 : 0);
    auto arg_node = [&](size_t k) -> const Arg& { return c->args[k + 1]; };
    auto err = [&](const std::string& what) { return c ? error(c->pos, c->len, what) : error(ident, what); };
    if (name == "and" || name == "or") {
      if (nargs < 1) return err(fmt::format("wrong number of args for {}: want at least 1 got 0", name));
      Value v;
      size_t direct = c ? c->args.size() - 1 : 0;
      for (size_t k = 0; k < direct; ++k) {
        v = TRY(eval_arg(dot, arg_node(k)));
        if (truth(v) == (name == "or")) return null_if_missing(v);
      }
      if (final) v = *final;
      return null_if_missing(v);
    }
    std::vector<Value> args;
    if (c)
      for (size_t k = 1; k < c->args.size(); ++k) args.push_back(null_if_missing(TRY(eval_arg(dot, c->args[k]))));
    if (final) args.push_back(null_if_missing(*final));
    auto r = call(name, args);
    if (!r) return err("error calling " + name + ": " + r.error().message);
    size_t made = r->owner ? r->get().is_string() ? r->get().get_ref<const std::string&>().size() : r->get().size() : 0;
    TRY(charge(ident.pos, made));
    return std::move(*r);
  }

  static Value null_if_missing(Value v) { return v.missing() ? Value::of(nullptr) : v; }

  Result<Value> call(const std::string& name, std::vector<Value>& args) {
    auto want = [&](size_t lo, size_t hi) -> Result<void> {
      if (args.size() < lo || args.size() > hi) {
        if (lo == hi) return fail(Errc::invalid_input, fmt::format("wrong number of args for {}: want {} got {}", name, lo, args.size()));
        return fail(Errc::invalid_input, fmt::format("wrong number of args for {}: want at least {} got {}", name, lo, args.size()));
      }
      return {};
    };
    auto str = [&](size_t k) -> Result<std::string> {
      const json& j = args[k].get();
      if (!j.is_string()) return fail(Errc::invalid_input, "wrong type for value; expected string; got " + go_type(j));
      return j.get<std::string>();
    };
    auto integer = [&](size_t k) -> Result<int64_t> {
      const json& j = args[k].get();
      if (j.is_number_integer() && !j.is_number_unsigned()) return j.get<int64_t>();
      if (j.is_number_unsigned() && j.get<uint64_t>() <= INT64_MAX) return static_cast<int64_t>(j.get<uint64_t>());
      if (j.is_number_float() && std::nearbyint(j.get<double>()) == j.get<double>() && std::abs(j.get<double>()) < 9e18)
        return static_cast<int64_t>(j.get<double>());
      return fail(Errc::invalid_input, "wrong type for value; expected int; got " + go_type(j));
    };
    static const char* const header_functions[] = {"json", "split", "join", "title", "lower", "upper", "pad", "truncate"};
    if (opts_.header && std::any_of(std::begin(header_functions), std::end(header_functions), [&](const char* h) { return name == h; })) {
      if (args.empty()) return fail(Errc::invalid_input, "wrong number of args for " + name);
      return args[0];
    }
    if (name == "not") {
      TRY(want(1, 1));
      return Value::of(!truth(args[0]));
    }
    if (name == "eq" || name == "ne") {
      TRY(want(2, name == "eq" ? SIZE_MAX : 2));
      bool any = false;
      for (size_t k = 1; k < args.size() && !any; ++k) any = TRY(equal(args[0].get(), args[k].get()));
      return Value::of(name == "eq" ? any : !any);
    }
    if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
      TRY(want(2, 2));
      const json &a = args[0].get(), &b = args[1].get();
      int cmp = 0;
      if (a.is_number() && b.is_number()) cmp = compare_numbers(a, b);
      else if (a.is_string() && b.is_string()) cmp = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
      else if ((a.is_number() || a.is_string()) && (b.is_number() || b.is_string()))
        return fail(Errc::invalid_input, "incompatible types for comparison");
      else return fail(Errc::invalid_input, "invalid type for comparison");
      cmp = cmp < 0 ? -1 : cmp > 0;
      bool r = name == "lt" ? cmp < 0 : name == "le" ? cmp <= 0 : name == "gt" ? cmp > 0 : cmp >= 0;
      return Value::of(r);
    }
    if (name == "len") {
      TRY(want(1, 1));
      const json& j = args[0].get();
      if (j.is_null()) return fail(Errc::invalid_input, "len of nil pointer");
      if (j.is_string()) return Value::of(static_cast<int64_t>(j.get_ref<const std::string&>().size()));
      if (j.is_array() || j.is_object()) return Value::of(static_cast<int64_t>(j.size()));
      return fail(Errc::invalid_input, "len of type " + go_type(j));
    }
    if (name == "index") {
      TRY(want(1, SIZE_MAX));
      Value item = args[0];
      for (size_t k = 1; k < args.size(); ++k) {
        const json& j = item.get();
        const json& key = args[k].get();
        if (j.is_null()) return fail(Errc::invalid_input, "index of untyped nil");
        if (j.is_array() || j.is_string()) {
          int64_t i = TRY(index_of(key, j.is_array() ? "slice" : "string"));
          size_t size = j.is_array() ? j.size() : j.get_ref<const std::string&>().size();
          if (i < 0 || static_cast<size_t>(i) >= size) return fail(Errc::invalid_input, fmt::format("index out of range: {}", i));
          if (j.is_array()) item = item.sub(j[static_cast<size_t>(i)]);
          else item = Value::of(static_cast<int64_t>(static_cast<unsigned char>(j.get_ref<const std::string&>()[static_cast<size_t>(i)])));
        } else if (j.is_object()) {
          if (!key.is_string()) return fail(Errc::invalid_input, "value has type " + go_type(key) + "; should be string");
          auto it = j.find(key.get_ref<const std::string&>());
          item = it != j.end() ? item.sub(*it) : Value::of(zero_element(j));
        } else {
          return fail(Errc::invalid_input, "can't index item of type " + go_type(j));
        }
      }
      return item;
    }
    if (name == "slice") {
      TRY(want(1, 4));
      const json& j = args[0].get();
      if (!j.is_array() && !j.is_string()) return fail(Errc::invalid_input, "can't slice item of type " + go_type(j));
      if (j.is_string() && args.size() > 3) return fail(Errc::invalid_input, "cannot 3-index slice a string");
      size_t size = j.is_array() ? j.size() : j.get_ref<const std::string&>().size();
      std::vector<int64_t> idx;
      for (size_t k = 1; k < args.size(); ++k) idx.push_back(TRY(index_of(args[k].get(), "slice")));
      int64_t lo = idx.size() > 0 ? idx[0] : 0, hi = idx.size() > 1 ? idx[1] : static_cast<int64_t>(size);
      int64_t cap = idx.size() > 2 ? idx[2] : static_cast<int64_t>(size);
      if (lo < 0 || hi < lo || cap < hi || static_cast<uint64_t>(cap) > size)
        return fail(Errc::invalid_input, fmt::format("index out of range: {}", lo < 0 ? lo : hi));
      if (j.is_string()) return Value::of(j.get_ref<const std::string&>().substr(static_cast<size_t>(lo), static_cast<size_t>(hi - lo)));
      return Value::of(json(j.begin() + lo, j.begin() + hi));
    }
    if (name == "print" || name == "println") {
      std::vector<json> vals;
      for (const auto& a : args) vals.push_back(a.get());
      if (name == "print") return Value::of(go_sprint(vals));
      std::string out;
      for (size_t k = 0; k < vals.size(); ++k) {
        if (k) out += ' ';
        print_to(out, vals[k]);
      }
      return Value::of(out + "\n");
    }
    if (name == "printf") {
      TRY(want(1, SIZE_MAX));
      std::string f = TRY(str(0));
      std::vector<json> vals;
      for (size_t k = 1; k < args.size(); ++k) vals.push_back(args[k].get());
      return Value::of(go_sprintf(f, vals));
    }
    if (name == "json") {
      TRY(want(1, 1));
      return Value::of(go_json(args[0].get(), opts_.root_marshals_escaped && args[0].p == data_));
    }
    if (name == "join") {
      TRY(want(2, 2));
      const json& list = args[0].get();
      std::string sep = TRY(str(1));
      if (!list.is_array() && !list.is_null())
        return fail(Errc::invalid_input, "wrong type for value; expected []string; got " + go_type(list));
      std::string out;
      bool first = true;
      for (const auto& e : list) {
        if (!first) out += sep;
        first = false;
        print_to(out, e);
        if (out.size() > opts_.max_bytes) return fail(Errc::invalid_input, "result too large");
      }
      return Value::of(out);
    }
    if (name == "split") {
      TRY(want(2, 2));
      std::string s = TRY(str(0)), sep = TRY(str(1));
      json out = json::array();
      if (sep.empty()) {
        for (size_t i = 0; i < s.size();) {
          size_t n = decode_rune(s, i).len;
          out.push_back(s.substr(i, n));
          i += n;
        }
      } else {
        size_t i = 0;
        for (;;) {
          size_t k = s.find(sep, i);
          out.push_back(s.substr(i, k == std::string::npos ? std::string::npos : k - i));
          if (k == std::string::npos) break;
          i = k + sep.size();
        }
      }
      return Value::of(std::move(out));
    }
    if (name == "lower" || name == "upper" || name == "title") {
      TRY(want(1, 1));
      std::string s = TRY(str(0));
      bool word_start = true;
      for (auto& ch : s) {
        unsigned char u = static_cast<unsigned char>(ch);
        if (name == "lower") ch = static_cast<char>(std::tolower(u));
        else if (name == "upper") ch = static_cast<char>(std::toupper(u));
        else {
          if (word_start && u < 0x80) ch = static_cast<char>(std::toupper(u));
          word_start = !(std::isalnum(u) || u == '\'' || u >= 0x80);
        }
      }
      return Value::of(s);
    }
    if (name == "truncate") {
      TRY(want(2, 2));
      std::string s = TRY(str(0));
      int64_t n = TRY(integer(1));
      if (n < 0) return fail(Errc::invalid_input, "slice bounds out of range");
      if (rune_count(s) < static_cast<size_t>(n)) return Value::of(s);
      size_t i = 0;
      for (int64_t k = 0; k < n && i < s.size(); ++k) i += decode_rune(s, i).len;
      return Value::of(s.substr(0, i));
    }
    if (name == "pad") {
      TRY(want(3, 3));
      std::string s = TRY(str(0));
      int64_t before = TRY(integer(1)), after = TRY(integer(2));
      if (before < 0 || after < 0) return fail(Errc::invalid_input, "negative Repeat count");
      if (s.empty()) return Value::of(s);
      if (static_cast<uint64_t>(before) + static_cast<uint64_t>(after) > opts_.max_bytes)
        return fail(Errc::invalid_input, "result too large");
      return Value::of(std::string(static_cast<size_t>(before), ' ') + s + std::string(static_cast<size_t>(after), ' '));
    }
    return fail(Errc::invalid_input, "function \"" + name + "\" not defined");
  }

  static Result<int64_t> index_of(const json& key, const char* what) {
    if (key.is_number_integer() && !key.is_number_unsigned()) return key.get<int64_t>();
    if (key.is_number_unsigned()) return key.get<uint64_t>() > INT64_MAX ? INT64_MAX : static_cast<int64_t>(key.get<uint64_t>());
    return fail(Errc::invalid_input, std::string("cannot index ") + what + " with type " + go_type(key));
  }

  // The zero value of an object's element type, as far as its values tell.
  static json zero_element(const json& obj) {
    if (obj.empty()) return "";
    auto all = [&](auto pred) { return std::all_of(obj.begin(), obj.end(), pred); };
    if (all([](const json& v) { return v.is_string(); })) return "";
    if (all([](const json& v) { return v.is_number_integer(); })) return 0;
    if (all([](const json& v) { return v.is_number(); })) return 0.0;
    if (all([](const json& v) { return v.is_boolean(); })) return false;
    return nullptr;
  }

  static Result<bool> equal(const json& a, const json& b) {
    if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
    if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
    if (a.is_array() || a.is_object() || b.is_array() || b.is_object())
      return fail(Errc::invalid_input, "non-comparable type " + go_type(a.is_array() || a.is_object() ? a : b));
    if (a.type() != b.type()) return fail(Errc::invalid_input, "incompatible types for comparison");
    return a == b;
  }
};

}  // namespace

Result<GoTemplate> GoTemplate::parse(std::string_view text) {
  auto impl = std::make_shared<Impl>();
  impl->src = std::string(text);
  auto toks = TRY(lex(impl->src));
  Parser p(impl->src, std::move(toks));
  impl->root = TRY(p.parse());
  GoTemplate t;
  t.impl_ = std::move(impl);
  return t;
}

Result<void> GoTemplate::execute(const json& data, std::string& out, const ExecOptions& opts) const {
  if (!impl_) return {};
  Exec e(*impl_, out, opts, data);
  return e.run();
}

Result<std::string> GoTemplate::render(const json& data, const ExecOptions& opts) const {
  std::string out;
  TRY(execute(data, out, opts));
  return out;
}

std::string go_print(const json& v) {
  std::string out;
  print_to(out, v);
  return out;
}

std::string go_sprint(const std::vector<json>& args) {
  std::string out;
  for (size_t k = 0; k < args.size(); ++k) {
    if (k > 0 && !args[k].is_string() && !args[k - 1].is_string()) out += ' ';
    print_to(out, args[k]);
  }
  return out;
}

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    Rune r = decode_rune(s, i);
    if (!r.valid) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
      i += 1;
      continue;
    }
    uint32_t c = r.cp;
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
        else if ((c >= 0x80 && c < 0xA0) || c == 0xAD || c == 0xFEFF || (c >= 0x2028 && c <= 0x2029))
          out += c > 0xFFFF ? fmt::format("\\U{:08x}", c) : fmt::format("\\u{:04x}", c);
        else out.append(s.substr(i, r.len));
    }
    i += r.len;
  }
  return out + "\"";
}

namespace {

void go_json_string(std::string& out, std::string_view s, bool escape_html) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    Rune r = decode_rune(s, i);
    if (!r.valid) {
      out += "\\ufffd";
      i += 1;
      continue;
    }
    uint32_t c = r.cp;
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x2028 || c == 0x2029 || (escape_html && (c == '<' || c == '>' || c == '&')))
          out += fmt::format("\\u{:04x}", c);
        else out.append(s.substr(i, r.len));
    }
    i += r.len;
  }
  out += '"';
}

void go_json_to(std::string& out, const json& v, bool escape_html) {
  switch (v.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out += ',';
        first = false;
        go_json_string(out, k, escape_html);
        out += ':';
        go_json_to(out, e, escape_html);
      }
      out += '}';
      break;
    }
    case json::value_t::array: {
      out += '[';
      for (size_t k = 0; k < v.size(); ++k) {
        if (k) out += ',';
        go_json_to(out, v[k], escape_html);
      }
      out += ']';
      break;
    }
    case json::value_t::string: go_json_string(out, v.get_ref<const std::string&>(), escape_html); break;
    default: out += v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

}  // namespace

std::string go_json(const json& v, bool escape_html) {
  std::string out;
  go_json_to(out, v, escape_html);
  return out;
}

std::string go_sprintf(std::string_view f, const std::vector<json>& args) {
  std::string out;
  size_t argi = 0;
  for (size_t i = 0; i < f.size();) {
    if (f[i] != '%') {
      size_t k = f.find('%', i);
      out.append(f.substr(i, k == std::string_view::npos ? std::string_view::npos : k - i));
      i = k == std::string_view::npos ? f.size() : k;
      continue;
    }
    ++i;
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    Spec sp;
    for (; i < f.size(); ++i) {
      char c = f[i];
      if (c == '-') sp.minus = true, sp.zero = false;
      else if (c == '+') sp.plus = true;
      else if (c == '#') sp.sharp = true;
      else if (c == '0') sp.zero = !sp.minus;
      else if (c == ' ') sp.space = true;
      else break;
    }
    bool bad_width = false, bad_prec = false;
    auto number = [&](std::optional<int>& into, bool& bad) {
      if (i < f.size() && f[i] == '*') {
        ++i;
        if (argi < args.size() && args[argi].is_number_integer()) {
          int64_t v = args[argi].is_number_unsigned() ? INT64_MAX : args[argi].get<int64_t>();
          if (v > 1000000 || v < -1000000) bad = true;
          else into = static_cast<int>(v);
        } else {
          bad = true;
        }
        ++argi;
        return;
      }
      size_t s = i;
      while (i < f.size() && is_digit(f[i])) ++i;
      if (i > s) {
        auto v = parse_uint<uint64_t>(f.substr(s, i - s));
        if (!v || *v > 1000000) bad = true;
        else into = static_cast<int>(*v);
      }
    };
    number(sp.width, bad_width);
    if (sp.width && *sp.width < 0) {
      sp.minus = true;
      sp.zero = false;
      sp.width = -*sp.width;
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      number(sp.prec, bad_prec);
      if (!sp.prec && !bad_prec) sp.prec = 0;
      if (sp.prec && *sp.prec < 0) sp.prec.reset();
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    Rune r = decode_rune(f, i);
    std::string verb(f.substr(i, r.len));
    i += r.len;
    if (bad_width) out += "%!(BADWIDTH)";
    if (bad_prec) out += "%!(BADPREC)";
    if (verb == "%") {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += "%!" + verb + "(MISSING)";
      continue;
    }
    if (r.len != 1) {
      out += "%!" + verb + "(" + go_type(args[argi]) + "=" + go_print(args[argi]) + ")";
      ++argi;
      continue;
    }
    sp.verb = verb[0];
    out += format_one(args[argi++], sp);
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      out += args[k].is_null() ? "<nil>" : go_type(args[k]) + "=" + go_print(args[k]);
    }
    out += ")";
  }
  return out;
}

std::string tabwrite(std::string_view text, size_t minwidth, size_t padding) {
  // Lines of cells; the last cell of each line is the text after its last tab.
  std::vector<std::vector<std::string_view>> lines;
  size_t start = 0;
  for (;;) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    std::vector<std::string_view> cells;
    size_t s = 0;
    for (;;) {
      size_t tab = line.find('\t', s);
      cells.push_back(line.substr(s, tab == std::string_view::npos ? std::string_view::npos : tab - s));
      if (tab == std::string_view::npos) break;
      s = tab + 1;
    }
    lines.push_back(std::move(cells));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  // Column c of a line exists when the line has more than c+1 cells; a block is a run of
  // consecutive lines where it does, all of them as wide as the widest cell in the block.
  std::vector<std::vector<size_t>> widths(lines.size());
  for (size_t c = 0;; ++c) {
    bool any = false;
    for (size_t l = 0; l < lines.size();) {
      if (lines[l].size() <= c + 1) {
        ++l;
        continue;
      }
      any = true;
      size_t end = l, w = minwidth;
      for (; end < lines.size() && lines[end].size() > c + 1; ++end) w = std::max(w, rune_count(lines[end][c]) + padding);
      for (; l < end; ++l) widths[l].push_back(w);
    }
    if (!any) break;
  }
  std::string out;
  for (size_t l = 0; l < lines.size(); ++l) {
    for (size_t c = 0; c < lines[l].size(); ++c) {
      out += lines[l][c];
      if (c < widths[l].size()) out.append(widths[l][c] - std::min(widths[l][c], rune_count(lines[l][c])), ' ');
    }
    if (l + 1 < lines.size()) out += '\n';
  }
  return out;
}

}  // namespace tiffin::api
