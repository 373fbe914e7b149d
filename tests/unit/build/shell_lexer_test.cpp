#include "build/shell_lexer.hpp"

#include <gtest/gtest.h>

namespace tiffin::build {
namespace {

const std::vector<std::string> kEnv = {
    "PWD=/home",
    "SHELL=bash",
    "EMPTY=",
    "SPACED=a b  c",
    "FILE=archive.tar.gz",
    "PATHV=/usr/local/bin/app",
    "DASHED=a-b-c-d",
    "SHORT=ab",
    "STAR=*",
    "KOREAN=한국어",
    "NL=one\ntwo",
    "NEEDLE=/?/",
    "SEGS=/a/b/cc/d/",
    "BRACED=<${0}>",
};

const VarLookup& env() {
  static const VarLookup lookup = env_lookup(kEnv);
  return lookup;
}

struct WordCase {
  const char* in;
  const char* out;
};

void expect_words(const std::vector<WordCase>& cases, char escape) {
  for (const WordCase& c : cases) {
    auto got = expand_word(c.in, env(), escape);
    ASSERT_TRUE(got) << c.in << ": " << got.error().what();
    EXPECT_EQ(*got, c.out) << "input: " << c.in;
  }
}

TEST(ShellLexer, QuotesAndEscapes) {
  expect_words(
      {
          {"hello", "hello"}, {"he'llo'", "hello"}, {"'$PWD'", "$PWD"}, {"\"$PWD\"", "/home"}, {"'a\"b'", "a\"b"}, {"\"a'b\"", "a'b"},
          {"'\\'", "\\"},                                                                      // no escapes inside '…'
          {"\"\\$PWD\"", "$PWD"},                                                              // \ escapes $ inside "…"
          {"\"\\\"\"", "\""},                                                                  // … and "
          {"\"\\\\\"", "\\"},                                                                  // … and itself
          {"\"\\a\\n\"", "\\a\\n"},                                                            // before anything else it stays
          {"\\$PWD", "$PWD"},                                                                  // outside quotes it escapes anything
          {"a\\ b", "a b"}, {"\\'x\\'", "'x'"}, {"\\\"", "\""}, {"\\\\", "\\"}, {"a\\", "a"},  // a trailing escape is dropped
          {"\"a\"'b'c", "abc"}, {"\"\"", ""}, {"''", ""}, {"\"a b\"", "a b"}, {"\"$SPACED\"", "a b  c"}, {"\"${PWD}x\"", "/homex"},
          {"\"`\"", "`"},  // ` is nothing special with \ as the escape
      },
      '\\');
}

TEST(ShellLexer, BacktickEscape) {
  expect_words(
      {
          {"C:\\Users\\app", "C:\\Users\\app"},  // \ is a plain character now
          {"`$PWD", "$PWD"},
          {"a` b", "a b"},
          {"\"`\"\"", "\""},
          {"\"``\"", "`"},
          {"\"`$PWD\"", "$PWD"},
          {"\"`a\"", "`a"},
          {"\"C:\\$PWD\"", "C:\\/home"},
          {"x`", "x"},
          {"'`'", "`"},
      },
      '`');
}

TEST(ShellLexer, PlainReferences) {
  expect_words(
      {
          {"$PWD", "/home"},
          {"${PWD}", "/home"},
          {"$PWD/x", "/home/x"},
          {"${PWD}x", "/homex"},
          {"$PWDx", ""},  // the name runs on: PWDx is not set
          {"$UNSET", ""},
          {"${UNSET}", ""},
          {"$EMPTY", ""},
          {"${KOREAN}!", "한국어!"},
          {"$SHELL$PWD", "bash/home"},
          {"a_$SHELL-", "a_bash-"},
          {"${STAR}", "*"},
      },
      '\\');
}

TEST(ShellLexer, DollarThatStartsNoName) {
  expect_words(
      {
          {"$", "$"},
          {"a$", "a$"},
          {"$ x", "$ x"},
          {"$/", "$/"},
          {"$.x", "$.x"},
          {"$\"x\"", "$x"},
          {"$'x'", "$x"},
          {"\"$\"", "$"},
          {"$%", "$%"},
      },
      '\\');
}

TEST(ShellLexer, PositionalAndSpecialParameters) {
  // Looked up as names like any other: a Dockerfile has none of them, so they are "".
  expect_words(
      {
          {"$1", ""},
          {"$10x", "x"},  // all the digits make the name
          {"${1}", ""},
          {"$@", ""},
          {"$*x", "x"},
          {"$#", ""},
          {"$?", ""},
          {"$$", ""},
          {"$!", ""},
          {"$-x", "x"},
          {"$0", ""},
          {"${#}", ""},
      },
      '\\');
  std::set<std::string> used;
  ASSERT_TRUE(expand_word("$12$@$_a", env(), '\\', &used));
  EXPECT_EQ(used, (std::set<std::string>{"12", "@", "_a"}));
  // A value given for one is used.
  auto special = env_lookup(std::vector<std::string>{"1=one", "@=all"});
  EXPECT_EQ(*expand_word("$1-$@", special), "one-all");
}

TEST(ShellLexer, DefaultAndAlternativeModifiers) {
  expect_words(
      {
          {"${UNSET:-def}", "def"},
          {"${EMPTY:-def}", "def"},
          {"${PWD:-def}", "/home"},
          {"${UNSET-def}", "def"},
          {"${EMPTY-def}", ""},
          {"${PWD-def}", "/home"},
          {"${UNSET:+alt}", ""},
          {"${EMPTY:+alt}", ""},
          {"${PWD:+alt}", "alt"},
          {"${UNSET+alt}", ""},
          {"${EMPTY+alt}", "alt"},
          {"${PWD+alt}", "alt"},
          {"${UNSET:-}", ""},
          {"${UNSET:-a b}", "a b"},
          {"${EMPTY?msg}", ""},
          {"${PWD?msg}", "/home"},
          {"${PWD:?msg}", "/home"},
      },
      '\\');
}

TEST(ShellLexer, NestedWordsInModifiers) {
  expect_words(
      {
          {"${UNSET:-$PWD/x}", "/home/x"},
          {"${UNSET:-${PWD}}", "/home"},
          {"${UNSET:-${ALSO_UNSET:-deep}}", "deep"},
          {"${UNSET:-${ALSO_UNSET:-${SHELL:+x${SHELL}y}}}", "xbashy"},
          {"${PWD:+\"$SHELL\"}", "bash"},
          {"${UNSET:-'$PWD'}", "$PWD"},
          {"${UNSET:-\"}\"}", "}"},  // a quoted } does not end the word
          {"${UNSET:-'}'}", "}"},
          {"${UNSET:-\\}}", "}"},
          {"${UNSET:-a}b}", "ab}"},
          {"${UNSET:-a:b}", "a:b"},
          {"${FILE%.${EXT:-gz}}", "archive.tar"},
          {"${UNSET:-$}", "$"},
          {"pre${UNSET:-mid}post", "premidpost"},
      },
      '\\');
}

TEST(ShellLexer, PrefixAndSuffixRemoval) {
  expect_words(
      {
          {"${FILE#*.}", "tar.gz"},
          {"${FILE##*.}", "gz"},
          {"${FILE%.*}", "archive.tar"},
          {"${FILE%%.*}", "archive"},
          {"${PATHV#/usr/}", "local/bin/app"},
          {"${PATHV##*/}", "app"},
          {"${PATHV%/*}", "/usr/local/bin"},
          {"${PATHV%%/*}", ""},
          {"${FILE#nomatch}", "archive.tar.gz"},
          {"${FILE%nomatch}", "archive.tar.gz"},
          {"${FILE#}", "archive.tar.gz"},
          {"${FILE##}", "archive.tar.gz"},
          {"${FILE%}", "archive.tar.gz"},
          {"${FILE%%}", "archive.tar.gz"},
          {"${FILE#*}", "archive.tar.gz"},  // the shortest * is empty
          {"${FILE##*}", ""},
          {"${FILE%*}", "archive.tar.gz"},
          {"${FILE%%*}", ""},
          {"${FILE#?}", "rchive.tar.gz"},
          {"${FILE%??}", "archive.tar."},
          {"${FILE#a*a}", "r.gz"},
          {"${FILE##a*a}", "r.gz"},
          {"${FILE#*a}", "rchive.tar.gz"},
          {"${FILE##*a}", "r.gz"},
          {"${DASHED#*-*-}", "c-d"},
          {"${DASHED##*-*-}", "d"},
          {"${DASHED%-*-*}", "a-b"},
          {"${DASHED%%-*-*}", "a"},
          {"${DASHED#**-}", "b-c-d"},  // two stars take what one does
          {"${DASHED##**-}", "d"},
          {"${UNSET#*}", ""},
          {"${FILE:#archive}", ".tar.gz"},  // ':' changes nothing here
          {"${FILE#$UNSET}", "archive.tar.gz"},
          {"${FILE#${FILE%%.*}.}", "tar.gz"},
          {"${KOREAN#?}", "국어"},  // ? is a character, not a byte
          {"${KOREAN%?}", "한국"},
          {"${KOREAN%%?*}", ""},
          // * and ? do not cross a newline.
          {"${NL#*}", "one\ntwo"},
          {"${NL##*}", "\ntwo"},
          {"${NL%%*}", "one\n"},
          {"${NL#one?}", "one\ntwo"},
          {"${NL#one\n}", "two"},
      },
      '\\');
}

TEST(ShellLexer, PatternEscapesAndQuotes) {
  auto lookup = env_lookup(std::vector<std::string>{"V=a*b?c\\d}e/f", "Q=x.y"});
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c : std::vector<Case>{
           {"${V#a\\*}", "b?c\\d}e/f"},     // \* is a literal *
           {"${V#a?b\\?}", "c\\d}e/f"},     // \? a literal ?
           {"${V#*\\\\}", "d}e/f"},         // \\ a literal backslash
           {"${V#*\\}}", "e/f"},            // \} a literal } (not the end)
           {"${V%\\/*}", "a*b?c\\d}e"},     // \/ a literal /
           {"${V#\"a*\"}", "*b?c\\d}e/f"},  // quotes are removed: * is still a wildcard (shortest: none)
           {"${V##\"a*\"}", ""},            // …and the longest takes everything
           {"${Q#x.}", "y"},                // . is literal
           {"${Q#\"x\".}", "y"},
           {"${Q%'.y'}", "x"},
       }) {
    auto got = expand_word(c.in, lookup);
    ASSERT_TRUE(got) << c.in << ": " << got.error().what();
    EXPECT_EQ(*got, c.out) << "input: " << c.in;
  }
}

TEST(ShellLexer, Replacement) {
  expect_words(
      {
          {"${FILE/tar/zip}", "archive.zip.gz"},
          {"${FILE//a/A}", "Archive.tAr.gz"},
          {"${FILE/a/A}", "Archive.tar.gz"},
          {"${FILE/*.tar/x}", "x.gz"},
          {"${FILE/a*a/_}", "_r.gz"},  // the longest match
          {"${FILE//?/-}", "--------------"},
          {"${FILE//.//}", "archive/tar/gz"},
          {"${FILE/nomatch/x}", "archive.tar.gz"},
          {"${FILE/./}", "archivetar.gz"},
          {"${PATHV//\\//:}", ":usr:local:bin:app"},
          {"${PATHV//$NEEDLE/|}", "/usr/local/bin/app"},
          {"${SEGS//$NEEDLE/|}", "|b/cc|"},
          {"${SHORT///-}", "-a-b-"},  // an empty pattern matches between every two characters
          {"${SHORT//*/-}", "-"},
          {"${SHORT/*/-}", "-"},
          {"${EMPTY//*/-}", "-"},
          {"${UNSET/*/-}", "-"},
          {"${UNSET/x/y}", ""},
          {"${SHORT/b/$SHELL}", "abash"},
          {"${SHORT/b/\"x y\"}", "ax y"},
          {"${SHORT/b/\\t}", "a\\t"},         // the replacement keeps its escapes
          {"${SHORT/b/<\\$0>}", "a<\\$0>"},   // one replacement: taken as it is
          {"${SHORT//b/<\\$0>}", "a<\\b>"},   // every one: Go's $0 is the match
          {"${SHORT//b/$$}", "a"},            // ($$ is the variable "$": unset)
          {"${SHORT//b/\\$\\$}", "a\\$\\$"},  // a $ that starts no name stays
          {"${SHORT//b/\\$$}", "a\\$"},       // Go's $$ is a $
          {"${SHORT//b/$BRACED}", "a<b>"},    // a value is read as Go's template too
          {"${SHORT//b/\\$1}", "a\\"},        // no such group
          {"${SHORT//b/\\$}", "a\\$"},
          {"${SHORT//b/\\$x.}", "a\\."},
          {"${NL//?/x}", "xxx\nxxx"},
          {"${NL/*/x}", "x\ntwo"},
          {"${KOREAN//?/x}", "xxx"},
          {"${FILE/:/}", "archive.tar.gz"},
      },
      '\\');
}

// Go's %q of printable ASCII.
std::string go_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) (out += (c == '"' || c == '\\') ? "\\" : "") += c;
  return out + "\"";
}

struct ErrorCase {
  const char* in;
  const char* message;  // what the error says after "failed to process \"…\": "
};

TEST(ShellLexer, Errors) {
  for (const ErrorCase& c : std::vector<ErrorCase>{
           {"'abc", "unexpected end of statement while looking for matching single-quote"},
           {"\"abc", "unexpected end of statement while looking for matching double-quote"},
           {"\"abc\\\"", "unexpected end of statement while looking for matching double-quote"},
           {"\"abc\\", "unexpected end of statement while looking for matching double-quote"}, {"${", "syntax error: missing '}'"},
           {"${PWD", "syntax error: missing '}'"}, {"${PWD:", "syntax error: missing '}'"}, {"${PWD:-x", "syntax error: missing '}'"},
           {"${PWD:}", "syntax error: missing '}'"},  // :} starts a word that never ends
           {"${UNSET:-'x}", "syntax error: missing '}'"}, {"${UNSET:-${X}", "syntax error: missing '}'"},
           {"${}", "syntax error: bad substitution"}, {"${:x}", "syntax error: bad substitution"},
           {"${{x}}", "syntax error: bad substitution"}, {"${PWD:=x}", "unsupported modifier (:=) in substitution"},
           {"${PWD=x}", "unsupported modifier (=) in substitution"}, {"${PWD x}", "unsupported modifier ( ) in substitution"},
           {"${PWD:/a/b}", "unsupported modifier (:/) in substitution"}, {"${PWD:}}", "unsupported modifier (:}) in substitution"},
           {"${#x}", "unsupported modifier (x) in substitution"}, {"${PWD^}", "unsupported modifier (^) in substitution"},
           {"${UNSET?}", "UNSET: is not allowed to be unset"}, {"${UNSET:?}", "UNSET: is not allowed to be unset"},
           {"${EMPTY:?}", "EMPTY: is not allowed to be empty"}, {"${UNSET?custom $PWD}", "UNSET: custom /home"},
           {"${EMPTY:?need it}", "EMPTY: need it"}, {"${UNSET:-${ALSO?inner}}", "ALSO: inner"},
           {"${FILE/a}", "syntax error: missing '/' in ${}"}, {"${FILE//a}", "syntax error: missing '/' in ${}"},
           {"${FILE/a/b", "syntax error: missing '}'"}, {"${FILE#\\x}", "invalid pattern (\\x) in substitution: invalid escape '\\x'"},
           {"${FILE/\\./_}", "invalid pattern (\\.) in substitution: invalid escape '\\.'"},
           {"${FILE%a\\b}", "invalid pattern (\\ba) in substitution: invalid escape '\\b'"},  // read backwards
       }) {
    auto got = expand_word(c.in, env());
    ASSERT_FALSE(got) << c.in << " gave " << *got;
    EXPECT_EQ(got.error().kind, Errc::invalid_input);
    EXPECT_EQ(got.error().what(), "failed to process " + go_quoted(c.in) + ": " + c.message) << c.in;
  }
  // A pattern that ends in an escape can only come from a variable.
  auto lookup = env_lookup(std::vector<std::string>{"V=x", "P=\\"});
  auto got = expand_word("${V#$P}", lookup);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().what().find("invalid pattern (\\) in substitution"), std::string::npos) << got.error().what();
}

TEST(ShellLexer, WordsSplitOnUnquotedBlanks) {
  struct Case {
    const char* in;
    std::vector<std::string> out;
  };
  for (const Case& c : std::vector<Case>{
           {"a b  c", {"a", "b", "c"}},
           {"  lead trail  ", {"lead", "trail"}},
           {"a\tb\nc", {"a", "b", "c"}},
           {"\"a b\" c", {"a b", "c"}},
           {"'a  b'c d", {"a  bc", "d"}},
           {"a\\ b c", {"a b", "c"}},
           {"$SPACED", {"a", "b", "c"}},  // splitting comes after expansion
           {"x$SPACED", {"xa", "b", "c"}},
           {"\"$SPACED\"", {"a b  c"}},
           {"'' x \"\"", {"x"}},  // a quoted empty string is no word
           {"a''b", {"ab"}},
           {"${UNSET:-\"p q\"}", {"p", "q"}},  // quotes inside a modifier do not keep it whole
           {"${SPACED:+x}y", {"xy"}},
           {"80/tcp 443", {"80/tcp", "443"}},
           {"a\u00a0b", {"a", "b"}},  // Go's unicode.IsSpace: a no-break space is a blank
           {"", {}},
           {"   ", {}},
           {"$EMPTY", {}},
       }) {
    auto got = expand_words(c.in, env());
    ASSERT_TRUE(got) << c.in << ": " << got.error().what();
    EXPECT_EQ(*got, c.out) << "input: " << c.in;
  }
  EXPECT_FALSE(expand_words("a 'b", env()));
  auto backtick = expand_words("a` b c", env(), '`');
  ASSERT_TRUE(backtick);
  EXPECT_EQ(*backtick, (std::vector<std::string>{"a b", "c"}));
}

TEST(ShellLexer, TracksTheNamesItLookedUp) {
  auto lookup = env_lookup(std::vector<std::string>{"A=1", "C=", "E=x"});
  auto e = ShellLexer{}.process("${A:-$B} $C ${D#$E} '$F' \\$G", lookup);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->word, "1   $F $G");
  EXPECT_EQ(e->matched, (std::set<std::string>{"A", "C", "E"}));
  EXPECT_EQ(e->unmatched, (std::set<std::string>{"B", "D"}));
  std::set<std::string> used{"Z"};
  ASSERT_TRUE(expand_word("$A${B:-x}", lookup, '\\', &used));
  EXPECT_EQ(used, (std::set<std::string>{"A", "B", "Z"}));
  used.clear();
  ASSERT_TRUE(expand_words("$C ${E/x/y}", lookup, '\\', &used));
  EXPECT_EQ(used, (std::set<std::string>{"C", "E"}));
}

TEST(ShellLexer, EnvLookupLaterEntriesWin) {
  auto lookup = env_lookup(std::vector<std::string>{"A=1", "B", "A=2", "C=x=y", "=empty"});
  EXPECT_EQ(lookup("A"), "2");
  EXPECT_EQ(lookup("B"), "");
  EXPECT_EQ(lookup("C"), "x=y");
  EXPECT_EQ(lookup("D"), std::nullopt);
  EXPECT_EQ(lookup(""), "empty");
  // No lookup at all: everything is unset.
  EXPECT_EQ(*expand_word("${X:-d}$Y", VarLookup{}), "d");
}

TEST(ShellLexer, HeredocSwitches) {
  ShellLexer raw_quotes{.raw_quotes = true};
  EXPECT_EQ(raw_quotes.process("'a' \"$SHELL\"", env())->word, "'a' \"bash\"");
  ShellLexer raw_escapes{.raw_escapes = true};
  EXPECT_EQ(raw_escapes.process("a\\ b \\$PWD", env())->word, "a\\ b \\$PWD");
  ShellLexer no_quotes{.skip_process_quotes = true};
  EXPECT_EQ(no_quotes.process("'$SHELL' \"x\"", env())->word, "'bash' \"x\"");
  ShellLexer keep_unset{.skip_unset_env = true};
  EXPECT_EQ(keep_unset.process("$UNSET ${UNSET} ${UNSET:-$PWD} ${UNSET//a/b} $PWD", env())->word,
      "$UNSET ${UNSET} ${UNSET:-/home} ${UNSET//a/b} /home");
}

TEST(ShellLexer, LongInputsStayFast) {
  // Many stars over a long value: linear-ish tables, not backtracking.
  std::string value(20000, 'a');
  auto lookup = env_lookup(std::vector<std::string>{"V=" + value});
  std::string pattern;
  for (int i = 0; i < 50; ++i) pattern += "*a";
  auto got = expand_word("${V##" + pattern + "b}", lookup);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, value);
  got = expand_word("${V%" + pattern + "}", lookup);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), value.size() - 50);
}

}  // namespace
}  // namespace tiffin::build
