// Docker's word expansion for Dockerfile arguments: what buildkit's shell lexer
// (frontend/dockerfile/shell) does to ADD, COPY, ENV, ARG, EXPOSE, FROM, LABEL, STOPSIGNAL,
// USER, VOLUME, WORKDIR and ONBUILD's words, matched to it case by case:
//
//   'text'          literal; no escapes inside (a ' cannot be quoted in '…')
//   "text"          $ expansions happen; the escape character escapes only ", $ and itself,
//                   before anything else it is kept
//   \c              outside quotes the escape character (\ or ` from `# escape=`) makes the next
//                   character literal; at the very end it is dropped
//   $NAME ${NAME}   a variable; unset is "". NAME is letters, digits and _; $0…$99… (all the
//                   digits) and the specials $@ $* $# $? $- $$ $! are looked up as names too
//   ${N:-w} ${N-w}  w when N is unset or empty (:-) / unset (-)
//   ${N:+w} ${N+w}  w when N is set and not empty (:+) / set (+), else ""
//   ${N:?m} ${N?m}  an error "N: m" when N is unset or empty / unset ("is not allowed to be …"
//                   without m)
//   ${N#p} ${N##p}  N without its shortest / longest prefix matching the shell pattern p
//   ${N%p} ${N%%p}  … suffix
//   ${N/p/r}        the first (longest) match of p replaced by r; ${N//p/r} every match
//
// Patterns have * (any run) and ? (one character), neither crossing a newline, and \ before *,
// ? or \ for the character itself (and before } and /, which would end the part); no [...]. The words
// inside modifiers are themselves expanded; quotes there are removed and do not make * literal.
// `$` before anything that starts no name stays a literal `$`. Errors (unterminated quotes or
// `${`, bad or unknown modifiers, `${N?}` failing, bad pattern escapes) are Errc::invalid_input
// with buildkit's wording: "failed to process \"<text>\": syntax error: missing '}'".
//
// Where this differs from buildkit, on purpose: bytes that are not UTF-8 are kept as they are
// (buildkit's scanner turns each into U+FFFD); names are ASCII only (Go also takes non-ASCII
// letters and digits); a leading U+FEFF is kept; "${N" says "missing '}'" (buildkit reports an
// "unsupported modifier" named by U+FFFD).
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::build {

// A variable's value, or nullopt when it is not set (an empty value is set). Called once per
// reference, so it should be cheap.
using VarLookup = std::function<std::optional<std::string>(std::string_view name)>;

// A lookup over "KEY=VALUE" entries, in order, the later of two equal keys winning; an entry
// without '=' sets KEY to "" (buildkit's BuildEnvs). The entries are copied.
VarLookup env_lookup(std::span<const std::string> entries);

struct Expansion {
  std::string word;                 // the text expanded, quotes and escapes removed (ProcessWord)
  std::vector<std::string> words;   // …split on the blanks that were not quoted (ProcessWords)
  std::set<std::string> matched;    // names looked up that were set
  std::set<std::string> unmatched;  // names looked up that were not
};

struct ShellLexer {
  char escape = '\\';  // '\\' or '`'
  // buildkit's switches, for heredocs: keep the quote characters in the output, keep the escape
  // characters, treat quotes as ordinary characters, leave references to unset variables as
  // written ("$N", "${N}", "${N:-w}" with w expanded).
  bool raw_quotes = false;
  bool raw_escapes = false;
  bool skip_process_quotes = false;
  bool skip_unset_env = false;

  Result<Expansion> process(std::string_view text, const VarLookup& env) const;
};

// ProcessWord: `word` expanded into one string. With `used`, the names it referred to (set or
// not) are added to it: what a build step used, for its cache key.
Result<std::string> expand_word(std::string_view word, const VarLookup& env, char escape = '\\', std::set<std::string>* used = nullptr);

// ProcessWords: `text` expanded and split into words on unquoted blanks (after expansion, so a
// variable holding "a b" gives two words; a quoted empty string gives none).
Result<std::vector<std::string>> expand_words(
    std::string_view text, const VarLookup& env, char escape = '\\', std::set<std::string>* used = nullptr);

}  // namespace tiffin::build
