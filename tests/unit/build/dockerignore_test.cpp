#include "build/dockerignore.hpp"

#include <gtest/gtest.h>

namespace tiffin::build {
namespace {

DockerIgnore parsed(std::string_view text) {
  auto d = DockerIgnore::parse(text);
  EXPECT_TRUE(d) << text << ": " << d.error().what();
  return d ? std::move(*d) : DockerIgnore{};
}

struct PathCase {
  const char* path;
  bool excluded;
};

void expect_paths(std::string_view text, const std::vector<PathCase>& cases) {
  DockerIgnore d = parsed(text);
  for (const PathCase& c : cases) EXPECT_EQ(d.excluded(c.path), c.excluded) << "patterns:\n" << text << "\npath: " << c.path;
}

TEST(DockerIgnore, ReadsLinesCommentsAndBlanks) {
  DockerIgnore d = parsed(
      "# a comment\n"
      "\n"
      "   \n"
      "node_modules\n"
      "  # not a comment: it does not start the line\n"
      "\t*.log  \n"
      "windows\r\n"
      "!keep.log\n"
      "! spaced\n"
      "last");
  EXPECT_EQ(d.patterns(), (std::vector<std::string>{"node_modules", "# not a comment: it does not start the line", "*.log", "windows",
                              "!keep.log", "!spaced", "last"}));
  EXPECT_TRUE(d.has_exceptions());
  EXPECT_TRUE(d.excluded("# not a comment: it does not start the line"));
  EXPECT_TRUE(d.excluded("windows"));
  EXPECT_TRUE(d.excluded("last"));
  EXPECT_FALSE(parsed("a\n").has_exceptions());
  EXPECT_TRUE(parsed("").patterns().empty());
  EXPECT_TRUE(parsed("# only\n\n").patterns().empty());
  EXPECT_EQ(parsed("\xEF\xBB\xBF#bom\nx").patterns(), (std::vector<std::string>{"x"}));  // a BOM before the first line
}

TEST(DockerIgnore, CleansPatternsLikeFilepathClean) {
  struct Case {
    const char* line;
    const char* pattern;
  };
  for (const Case& c : std::vector<Case>{
           {"./a//b/../c/", "a/c"},
           {"/abs", "abs"},
           {"//abs//x/", "abs/x"},
           {"/", "/"},
           {".", "."},
           {"a/..", "."},
           {"../up", "../up"},
           {"/../x", "x"},  // .. at the root goes away
           {"!/x", "!x"},
           {"! ./y/", "!y"},
           {"a/./*.go", "a/*.go"},
           {"**/", "**"},
       })
    EXPECT_EQ(parsed(c.line).patterns(), std::vector<std::string>{c.pattern}) << c.line;
}

TEST(DockerIgnore, BadPatternsNameTheirLine) {
  struct Case {
    const char* text;
    const char* start;  // of the message
  };
  for (const Case& c : std::vector<Case>{
           {"[", ".dockerignore line 1: syntax error in pattern"},
           {"ok\n\nfoo\\", ".dockerignore line 3: syntax error in pattern"},
           {"# c\n!", ".dockerignore line 2: illegal exclusion pattern: \"!\""},
           {"x\n!  ", ".dockerignore line 2: illegal exclusion pattern"},
           {"a[]", ".dockerignore line 1: syntax error in pattern"},
           {"[a-]", ".dockerignore line 1: syntax error in pattern"},
           {"[-a]", ".dockerignore line 1: syntax error in pattern"},
           {"[^]", ".dockerignore line 1: syntax error in pattern"},
           {"[a", ".dockerignore line 1: syntax error in pattern"},
           {"[\\", ".dockerignore line 1: syntax error in pattern"},
           {"[z-a]", ".dockerignore line 1: syntax error in pattern"},
           {"a\n[\xff]", ".dockerignore line 2: syntax error in pattern"},
       }) {
    auto d = DockerIgnore::parse(c.text);
    ASSERT_FALSE(d) << c.text;
    EXPECT_EQ(d.error().kind, Errc::invalid_input);
    EXPECT_TRUE(d.error().what().starts_with(c.start)) << d.error().what();
  }
  // Classes that are fine.
  for (const char* ok : {"[a-c]", "[^a]", "[\\]]", "[\\-]", "[a-a]", "[!]", "[é-ü]", "x]", "a[b]c[d-e]"})
    EXPECT_TRUE(DockerIgnore::parse(ok)) << ok;
  EXPECT_FALSE(DockerIgnore::parse("[]a]x"));  // a ] first is no member in filepath.Match
}

TEST(DockerIgnore, PlainNamesMatchThemselvesAndEverythingUnder) {
  expect_paths("node_modules", {
                                   {"node_modules", true},
                                   {"node_modules/a", true},
                                   {"node_modules/a/b/c.js", true},
                                   {"node_modules2", false},
                                   {"src/node_modules", false},  // only at the top
                                   {"src", false},
                               });
  expect_paths("a/b", {{"a", false}, {"a/b", true}, {"a/b/c", true}, {"a/bc", false}, {"x/a/b", false}});
}

TEST(DockerIgnore, SingleStarQuestionMarkAndEscapes) {
  expect_paths("*.log", {{"a.log", true}, {".log", true}, {"dir/a.log", false}, {"a.log/inner", true}, {"a.logx", false}});
  expect_paths("doc/*.md", {{"doc/a.md", true}, {"doc/x/a.md", false}, {"doc/.md", true}, {"doc.md", false}});
  expect_paths("*", {{"a", true}, {"a/b", true}, {".hidden", true}});
  expect_paths("*/x", {{"a/x", true}, {"x", false}, {"a/b/x", false}, {"a/x/y", true}});
  expect_paths("?.txt", {{"a.txt", true}, {"ab.txt", false}, {".txt", false}});
  expect_paths("a?b", {{"axb", true}, {"a/b", false}, {"ab", false}});
  expect_paths("\\*.txt", {{"*.txt", true}, {"a.txt", false}});
  expect_paths("a\\?", {{"a?", true}, {"ab", false}});
  expect_paths("\\[x]", {{"[x]", true}, {"x", false}});
  expect_paths("a+b(c)|{d}$.e", {{"a+b(c)|{d}$.e", true}, {"aab(c)|{d}$.e", false}});  // regexp characters are plain
  expect_paths("x]", {{"x]", true}, {"x", false}});
  expect_paths("é?", {{"éa", true}, {"éü", true}, {"é", false}});  // ? is a character, not a byte
}

TEST(DockerIgnore, CharacterClasses) {
  expect_paths("[abc].txt", {{"a.txt", true}, {"c.txt", true}, {"d.txt", false}, {"ab.txt", false}});
  expect_paths("[a-c]x", {{"bx", true}, {"dx", false}});
  expect_paths("[^a-c]x", {{"dx", true}, {"ax", false}, {"x", false}});
  expect_paths("[!a]x", {{"!x", true}, {"ax", true}, {"bx", false}});  // ! is a member, not a negation
  expect_paths("[a-cx-z0-9]", {{"b", true}, {"y", true}, {"5", true}, {"m", false}});
  expect_paths("[\\]]", {{"]", true}, {"\\", false}});
  expect_paths("[\\-]", {{"-", true}});
  expect_paths("x[/]y", {{"x/y", true}, {"xay", false}});  // a class may match a /
  expect_paths("v[0-9][0-9]", {{"v10", true}, {"v1", false}, {"v1a", false}});
  expect_paths("[é-ü]", {{"ö", true}, {"e", false}});
}

TEST(DockerIgnore, DoubleStar) {
  // In front: anywhere.
  expect_paths("**/*.log", {{"a.log", true}, {"x/y/a.log", true}, {"x/a.logs", false}});
  expect_paths("**/tmp", {{"tmp", true}, {"a/tmp", true}, {"a/b/tmp/x", true}, {"atmp", false}, {"a/xtmp", false}});
  // In the middle: any number of directories, none too.
  expect_paths(
      "a/**/b", {{"a/b", true}, {"a/x/b", true}, {"a/x/y/b", true}, {"a/b/c", true}, {"a/xb", false}, {"b", false}, {"x/a/b", false}});
  expect_paths("a/**/*.go", {{"a/m.go", true}, {"a/p/q/m.go", true}, {"b/m.go", false}});
  // At the end: everything under.
  expect_paths("a/**", {{"a/x", true}, {"a/x/y", true}, {"a", false}, {"ab", false}});
  expect_paths("a**", {{"a", true}, {"ab", true}, {"a/x", true}, {"b", false}});  // docker's prefix test
  expect_paths("**", {{"a", true}, {"a/b/c", true}});
  // docker's suffix test: ** and then plain text.
  expect_paths("**.go", {{"x.go", true}, {"a/b.go", true}, {"ago", false}, {"a/go", false}});
  expect_paths("**foo", {{"foo", true}, {"xfoo", true}, {"a/xfoo", true}});
  // Elsewhere ** without a / is "directories, then": a**b is a, directories, b.
  expect_paths("a**b", {{"ab", true}, {"a/b", true}, {"ax/b", true}, {"axb", false}});
  expect_paths("*/**/z", {{"a/z", true}, {"a/b/c/z", true}, {"z", false}});
  // A ** stops at a newline, as docker's regexp does.
  expect_paths("x/**/y", {{"x/a\nb/y", false}, {"x/a/y", true}});
}

TEST(DockerIgnore, DotSlashAndSlashPrefixes) {
  for (const char* text : {"./foo", "/foo", "foo/", "./foo/.", "/./foo"}) {
    expect_paths(text, {{"foo", true}, {"foo/bar", true}, {"bar/foo", false}});
  }
  DockerIgnore d = parsed("foo");
  EXPECT_TRUE(d.excluded("./foo"));
  EXPECT_TRUE(d.excluded("/foo/x"));
  EXPECT_TRUE(d.excluded("foo//x/"));
  EXPECT_TRUE(d.excluded("x/../foo"));
  // The root is never excluded.
  EXPECT_FALSE(parsed("*").excluded("."));
  EXPECT_FALSE(parsed("**").excluded(""));
  EXPECT_FALSE(parsed("**").excluded("/"));
}

TEST(DockerIgnore, LastMatchWins) {
  expect_paths("*.md\n!README.md", {{"README.md", false}, {"a.md", true}});
  expect_paths("!README.md\n*.md", {{"README.md", true}, {"a.md", true}});
  expect_paths(
      "*.md\n!README*.md\nREADME-secret.md", {{"README.md", false}, {"README-secret.md", true}, {"README-x.md", false}, {"x.md", true}});
  expect_paths("a\n!a\na", {{"a", true}, {"a/x", true}});
  expect_paths("a\n!a", {{"a", false}, {"a/x", false}});
  expect_paths("!x", {{"x", false}, {"y", false}});  // an exception alone excludes nothing
}

TEST(DockerIgnore, ExceptionsReincludeFilesInExcludedDirectories) {
  expect_paths("docs\n!docs/keep.md", {
                                          {"docs", true},
                                          {"docs/a", true},
                                          {"docs/keep.md", false},
                                          {"docs/keep.md/x", false},  // under it: its parent matched the exception
                                          {"docs/keep.mdx", true},
                                      });
  expect_paths("docs\n!docs/keep\ndocs/keep/secret", {
                                                         {"docs/keep", false},
                                                         {"docs/keep/a", false},
                                                         {"docs/keep/secret", true},
                                                         {"docs/keep/secret/x", true},
                                                         {"docs/other", true},
                                                     });
  expect_paths("*\n!src\n!**/*.go\nsrc/vendor", {
                                                    {"README", true},
                                                    {"src", false},
                                                    {"src/a.c", false},
                                                    {"src/vendor/x.go", true},
                                                    {"pkg/y.go", false},
                                                    {"pkg/y.c", true},
                                                });
  // The Dockerfile too is only an ordinary name here: keeping it is the caller's job.
  auto d = DockerIgnore::from_patterns(std::vector<std::string>{"*", "!Dockerfile"});
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->excluded("Dockerfile"));
  EXPECT_TRUE(parsed("*").excluded("Dockerfile"));
  EXPECT_TRUE(parsed("*").excluded(".dockerignore"));
}

TEST(DockerIgnore, FromPatternsTakesWhatPatternsGives) {
  DockerIgnore d = parsed("/a/\n! b\n*.c");
  std::vector<std::string> more = d.patterns();
  more.push_back("!x.c");
  auto again = DockerIgnore::from_patterns(more);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->patterns(), (std::vector<std::string>{"a", "!b", "*.c", "!x.c"}));
  EXPECT_TRUE(again->excluded("y.c"));
  EXPECT_FALSE(again->excluded("x.c"));
  auto bad = DockerIgnore::from_patterns(std::vector<std::string>{"ok", "[x"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, Errc::invalid_input);
  // "!/" is cleaned to "!" and refused, as docker does.
  EXPECT_FALSE(DockerIgnore::parse("!/"));
}

TEST(DockerIgnore, MayIncludeUnderTellsWhichExcludedTreesToSkip) {
  struct Case {
    const char* dir;
    bool may;
  };
  auto expect = [](std::string_view text, const std::vector<Case>& cases) {
    DockerIgnore d = parsed(text);
    for (const Case& c : cases) EXPECT_EQ(d.may_include_under(c.dir), c.may) << "patterns:\n" << text << "\ndir: " << c.dir;
  };
  expect("node_modules", {{"node_modules", false}, {"node_modules/x", false}});
  expect("node_modules\n!node_modules/keep.js",
      {{"node_modules", true}, {"./node_modules/", true}, {"node_modules/x", false}, {"src", false}});
  expect("node_modules\n!*.md", {{"node_modules", false}});  // *.md is only at the top
  expect("node_modules\n!**/*.md", {{"node_modules", true}, {"a/b/c", true}});
  expect("node_modules\n!node_modules/**/README", {{"node_modules", true}, {"node_modules/a/b", true}, {"vendor", false}});
  expect("a\n!a/b/c", {{"a", true}, {"a/b", true}, {"a/b/c", false}, {"a/x", false}, {"ab", false}});
  expect("a\n!a*/keep", {{"a", true}, {"ab", true}, {"b", false}, {"a/x", false}});
  expect("a\n!a/b/**", {{"a", true}, {"a/b", true}, {"a/b/c", true}, {"a/c", false}});
  expect("a\n!a/b**", {{"a", true}, {"a/bc", true}, {"a/c", false}});
  expect("a\n!a/?", {{"a", true}, {"a/x", false}});
  expect("a\n![ab]/x", {{"a", true}, {"b", true}, {"c", false}});
  expect("*\n!x", {{".", true}, {"y", false}});
  expect("*", {{".", false}});
}

TEST(DockerIgnore, MayIncludeUnderNeverHidesAnIncludedPath) {
  // Every pair of an exclusion and an exception from these, every directory the pair excludes
  // and says nothing can come back under: nothing under it is included.
  const std::vector<std::string> patterns = {
      "a", "a/b", "*", "*/b", "a*", "?", "[ab]", "[^a]/b", "**/b", "a/**", "a/**/c", "**", "b/**/*", "a?/b", "**c", "a\\*"};
  const std::vector<std::string> dirs = {"a", "b", "ab", "a/b", "b/a", "a/b/c", "c", "a*"};
  const std::vector<std::string> below = {"a", "b", "c", "ab", "b/c", "a/b/c", "x"};
  int pruned = 0;
  for (const auto& exclude : patterns)
    for (const auto& keep : patterns) {
      DockerIgnore d = parsed(exclude + "\n!" + keep);
      for (const auto& dir : dirs) {
        if (!d.excluded(dir) || d.may_include_under(dir)) continue;
        ++pruned;
        for (const auto& rest : below) EXPECT_TRUE(d.excluded(dir + "/" + rest)) << exclude << " !" << keep << ": " << dir << "/" << rest;
      }
    }
  EXPECT_GT(pruned, 100);  // the walk does get to skip trees
}

}  // namespace
}  // namespace tiffin::build
