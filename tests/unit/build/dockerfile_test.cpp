#include "build/dockerfile.hpp"

#include <gtest/gtest.h>

namespace tiffin::build {
namespace {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

Dockerfile parsed(std::string_view text) {
  auto r = parse_dockerfile(text);
  EXPECT_TRUE(r) << r.error().message;
  return r ? std::move(*r) : Dockerfile{};
}

// The instructions of the only (or last) stage.
std::vector<Instruction> body(std::string_view text) {
  Dockerfile df = parsed(text);
  return df.stages.empty() ? std::vector<Instruction>{} : df.stages.back().instructions;
}

Instruction one(std::string_view text) {
  auto b = body(text);
  EXPECT_EQ(b.size(), 1u);
  return b.empty() ? Instruction{} : b[0];
}

// Asserts that `text` is refused at "LINE:COLUMN" with a message containing `what`.
void expect_error(std::string_view text, const std::string& where, const std::string& what) {
  auto r = parse_dockerfile(text);
  ASSERT_FALSE(r) << "parsed: " << text;
  EXPECT_EQ(r.error().kind, Errc::invalid_input);
  const std::string& m = r.error().message;
  EXPECT_TRUE(m.starts_with("Dockerfile:" + where + ": ")) << m;
  EXPECT_NE(m.find(what), std::string::npos) << m;
}

// ---- Stages --------------------------------------------------------------------------------

TEST(Dockerfile, OneStage) {
  Dockerfile df = parsed("FROM alpine:3.19\nRUN echo hi\n");
  ASSERT_EQ(df.stages.size(), 1u);
  const Stage& s = df.stages[0];
  EXPECT_EQ(s.base, "alpine:3.19");
  EXPECT_EQ(s.name, "");
  EXPECT_EQ(s.platform, "");
  EXPECT_EQ(s.line, 1);
  EXPECT_EQ(s.from.kind, Kind::from);
  EXPECT_EQ(s.from.args, (Strings{"alpine:3.19"}));
  ASSERT_EQ(s.instructions.size(), 1u);
  EXPECT_EQ(s.instructions[0].kind, Kind::run);
  EXPECT_EQ(s.instructions[0].line, 2);
  EXPECT_EQ(s.instructions[0].column, 1);
  EXPECT_EQ(s.instructions[0].end_line, 2);
  EXPECT_EQ(df.directives.escape, '\\');
  EXPECT_TRUE(df.meta_args.empty());
}

TEST(Dockerfile, MultiStageWithNamesPlatformAndMetaArgs) {
  Dockerfile df = parsed(
      "ARG GO=1.22\n"
      "ARG BASE=alpine DEBUG\n"
      "FROM --platform=$BUILDPLATFORM golang:${GO} AS Build\n"
      "RUN go build -o /out/app .\n"
      "\n"
      "from scratch as final.image-2_x\n"
      "COPY --from=build /out/app /app\n"
      "FROM ${BASE}\n");
  ASSERT_EQ(df.meta_args.size(), 2u);
  EXPECT_EQ(df.meta_args[0].pairs, (std::vector<KeyValue>{{"GO", "1.22", true}}));
  EXPECT_EQ(df.meta_args[1].pairs, (std::vector<KeyValue>{{"BASE", "alpine", true}, {"DEBUG", "", false}}));
  ASSERT_EQ(df.stages.size(), 3u);
  EXPECT_EQ(df.stages[0].base, "golang:${GO}");
  EXPECT_EQ(df.stages[0].name, "build");
  EXPECT_EQ(df.stages[0].platform, "$BUILDPLATFORM");
  EXPECT_EQ(df.stages[0].line, 3);
  EXPECT_EQ(df.stages[0].instructions.size(), 1u);
  EXPECT_EQ(df.stages[1].base, "scratch");
  EXPECT_EQ(df.stages[1].name, "final.image-2_x");
  EXPECT_EQ(df.stages[1].from.keyword, "from");
  EXPECT_EQ(df.stages[1].line, 6);
  ASSERT_EQ(df.stages[1].instructions.size(), 1u);
  EXPECT_EQ(df.stages[1].instructions[0].flag("from")->value, "build");
  EXPECT_EQ(df.stages[2].base, "${BASE}");
  EXPECT_EQ(df.stages[2].name, "");
  EXPECT_TRUE(df.stages[2].instructions.empty());
}

TEST(Dockerfile, InstructionNamesAreCaseInsensitiveAndKeptAsWritten) {
  auto b = body("fRoM alpine\nrun echo a\nCopy a b\nenv A=1\n");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].kind, Kind::run);
  EXPECT_EQ(b[0].keyword, "run");
  EXPECT_EQ(b[1].kind, Kind::copy);
  EXPECT_EQ(b[1].keyword, "Copy");
  EXPECT_EQ(b[2].kind, Kind::env);
  EXPECT_STREQ(kind_keyword(b[2].kind), "ENV");
}

// ---- RUN, CMD, ENTRYPOINT, SHELL -----------------------------------------------------------

TEST(Dockerfile, RunShellFormKeepsTheCommandLineRaw) {
  Instruction r = one("FROM a\nRUN   apt-get update && echo \"$HOME\" 'x  y'  \n");
  EXPECT_EQ(r.args, (Strings{"apt-get update && echo \"$HOME\" 'x  y'"}));
  EXPECT_FALSE(r.exec_form);
  EXPECT_EQ(r.original, "RUN   apt-get update && echo \"$HOME\" 'x  y'  ");
}

TEST(Dockerfile, RunExecFormDecodesTheJsonStrings) {
  Instruction r = one("FROM a\nRUN [\"/bin/sh\", \"-c\", \"echo \\\"a b\\\" \\u00e9\"]\n");
  EXPECT_TRUE(r.exec_form);
  EXPECT_EQ(r.args, (Strings{"/bin/sh", "-c", "echo \"a b\" \xC3\xA9"}));
}

TEST(Dockerfile, InvalidJsonIsTheShellFormAsInDocker) {
  Instruction r = one("FROM a\nRUN [ \"a\", ]\n");
  EXPECT_FALSE(r.exec_form);
  EXPECT_EQ(r.args, (Strings{"[ \"a\", ]"}));
  Instruction c = one("FROM a\nCMD [\"a\"] && b\n");
  EXPECT_FALSE(c.exec_form);
  EXPECT_EQ(c.args, (Strings{"[\"a\"] && b"}));
  Instruction e = one("FROM a\nENTRYPOINT ['single', 'quotes']\n");
  EXPECT_FALSE(e.exec_form);
  EXPECT_EQ(e.args, (Strings{"['single', 'quotes']"}));
}

TEST(Dockerfile, AJsonArrayOfNonStringsIsRefusedAsInDocker) {
  expect_error("FROM a\nRUN [\"echo\", 1]\n", "2:5", "arrays must be comprised of strings only");
  expect_error("FROM a\nCMD [[\"a\"]]\n", "2:5", "strings only");
}

TEST(Dockerfile, RunFlags) {
  Instruction r =
      one("FROM a\n"
          "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=npmrc \\\n"
          "    --network=none --security=insecure make\n");
  EXPECT_EQ(r.flag_values("mount"), (Strings{"type=cache,target=/root/.cache", "type=secret,id=npmrc"}));
  EXPECT_EQ(r.flag("network")->value, "none");
  EXPECT_EQ(r.flag("security")->value, "insecure");
  EXPECT_EQ(r.flags[2].line, 3);
  EXPECT_EQ(r.flags[2].column, 5);
  EXPECT_EQ(r.args, (Strings{"make"}));
  EXPECT_EQ(r.end_line, 3);
}

TEST(Dockerfile, FlagValuesLoseTheirQuotes) {
  Instruction r = one("FROM a\nRUN --mount=\"type=bind,source=a b\" --network='host' true\n");
  EXPECT_EQ(r.flag("mount")->value, "type=bind,source=a b");
  EXPECT_EQ(r.flag("network")->value, "host");
  EXPECT_EQ(r.args, (Strings{"true"}));
}

TEST(Dockerfile, DoubleDashEndsTheFlags) {
  Instruction r = one("FROM a\nRUN -- --not-a-flag\n");
  EXPECT_TRUE(r.flags.empty());
  EXPECT_EQ(r.args, (Strings{"--not-a-flag"}));
}

TEST(Dockerfile, CmdAndEntrypointInBothForms) {
  auto b = body("FROM a\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\nENTRYPOINT exec top -b\nCMD []\nENTRYPOINT []\n");
  ASSERT_EQ(b.size(), 4u);
  EXPECT_TRUE(b[0].exec_form);
  EXPECT_EQ(b[0].args, (Strings{"nginx", "-g", "daemon off;"}));
  EXPECT_FALSE(b[1].exec_form);
  EXPECT_EQ(b[1].args, (Strings{"exec top -b"}));
  EXPECT_TRUE(b[2].exec_form);  // CMD [] clears the command
  EXPECT_TRUE(b[2].args.empty());
  EXPECT_TRUE(b[3].exec_form);
  EXPECT_TRUE(b[3].args.empty());
}

TEST(Dockerfile, ShellTakesOnlyJson) {
  Instruction s = one("FROM a\nSHELL [\"powershell\", \"-command\"]\n");
  EXPECT_EQ(s.kind, Kind::shell);
  EXPECT_TRUE(s.exec_form);
  EXPECT_EQ(s.args, (Strings{"powershell", "-command"}));
  expect_error("FROM a\nSHELL /bin/bash -c\n", "2:7", "SHELL requires the arguments to be in JSON form");
  expect_error("FROM a\nSHELL [\"a\", ]\n", "2:7", "JSON form");
  expect_error("FROM a\nSHELL []\n", "2:1", "SHELL requires");
}

// ---- COPY and ADD --------------------------------------------------------------------------

TEST(Dockerfile, CopyWithEveryFlag) {
  Instruction c =
      one("FROM a\n"
          "COPY --from=build --chown=app:app --chmod=0755 --link --parents --exclude=*.md --exclude=.git ./src/ a/*.txt /app/\n");
  EXPECT_EQ(c.flag("from")->value, "build");
  EXPECT_EQ(c.flag("chown")->value, "app:app");
  EXPECT_EQ(c.flag("chmod")->value, "0755");
  EXPECT_TRUE(c.flag_set("link"));
  EXPECT_TRUE(c.flag_set("parents"));
  EXPECT_EQ(c.flag_values("exclude"), (Strings{"*.md", ".git"}));
  EXPECT_EQ(Strings(c.sources().begin(), c.sources().end()), (Strings{"./src/", "a/*.txt"}));
  EXPECT_EQ(c.destination(), "/app/");
  EXPECT_FALSE(c.exec_form);
  EXPECT_EQ(c.flags[0].column, 6);
}

TEST(Dockerfile, CopyJsonFormAllowsSpacesInPaths) {
  Instruction c = one("FROM a\nCOPY --link=false [\"my file.txt\", \"other\", \"/dest dir/\"]\n");
  EXPECT_TRUE(c.exec_form);
  EXPECT_FALSE(c.flag_set("link"));
  EXPECT_EQ(c.flag("link")->value, "false");
  EXPECT_EQ(Strings(c.sources().begin(), c.sources().end()), (Strings{"my file.txt", "other"}));
  EXPECT_EQ(c.destination(), "/dest dir/");
}

TEST(Dockerfile, CopyWordsKeepQuotesRawLikeBuildkit) {
  Instruction c = one("FROM a\nCOPY \"$SRC\" ${DEST:-/x}\n");
  EXPECT_EQ(c.args, (Strings{"\"$SRC\"", "${DEST:-/x}"}));
}

TEST(Dockerfile, AddFlags) {
  auto b = body(
      "FROM a\n"
      "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://x/a.tar.gz /\n"
      "ADD --keep-git-dir=true --chown=1:2 --chmod=600 --link --unpack=false --exclude=x git@github.com:a/b.git /src\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].kind, Kind::add);
  EXPECT_EQ(b[0].flag("checksum")->value, "sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d");
  EXPECT_EQ(b[0].destination(), "/");
  EXPECT_TRUE(b[1].flag_set("keep-git-dir"));
  EXPECT_TRUE(b[1].flag_set("link"));
  EXPECT_FALSE(b[1].flag_set("unpack"));
  EXPECT_EQ(b[1].flag("chown")->value, "1:2");
  EXPECT_EQ(b[1].sources()[0], "git@github.com:a/b.git");
}

TEST(Dockerfile, FlagsBelongToTheirInstruction) {
  expect_error("FROM a\nADD --from=build a b\n", "2:5", "unknown flag --from for ADD");
  expect_error("FROM a\nCOPY --checksum=x a b\n", "2:6", "unknown flag --checksum for COPY");
  expect_error("FROM a\nCOPY --keep-git-dir a b\n", "2:6", "unknown flag");
  expect_error("FROM a\nRUN --link true\n", "2:5", "unknown flag --link for RUN");
  expect_error("FROM a\nENV --x=1 A=1\n", "2:5", "unknown flag --x for ENV");
  expect_error("FROM --plat=x a\n", "1:6", "unknown flag --plat for FROM");
}

TEST(Dockerfile, BadFlagUse) {
  expect_error("FROM a\nCOPY --frm=x a b\n", "2:6", "unknown flag --frm");
  expect_error("FROM a\nCOPY --link --link a b\n", "2:13", "--link is given twice");
  expect_error("FROM a\nCOPY --from=a --from=b a b\n", "2:15", "--from is given twice");
  expect_error("FROM a\nCOPY --from a b\n", "2:6", "missing a value on flag --from");
  expect_error("FROM a\nCOPY --link= a b\n", "2:6", "missing a value on flag --link");
  expect_error("FROM a\nCOPY --link=maybe a b\n", "2:6", "--link is true or false");
  expect_error("FROM a\nRUN --network a\n", "2:5", "missing a value on flag --network");
}

// ---- ENV, LABEL, ARG -----------------------------------------------------------------------

TEST(Dockerfile, EnvPairsKeepQuotesAndEscapes) {
  Instruction e = one("FROM a\nENV A=1 B=\"two words\" C=x\\ y D='$E' F= G=\"a\\\"b\"\n");
  EXPECT_EQ(e.pairs, (std::vector<KeyValue>{{"A", "1", true}, {"B", "\"two words\"", true}, {"C", "x\\ y", true}, {"D", "'$E'", true},
                         {"F", "", true}, {"G", "\"a\\\"b\"", true}}));
}

TEST(Dockerfile, EnvLegacyFormTakesTheRestOfTheLine) {
  Instruction e = one("FROM a\nENV MY_PATH /usr/local/bin:$PATH   with spaces\n");
  EXPECT_EQ(e.pairs, (std::vector<KeyValue>{{"MY_PATH", "/usr/local/bin:$PATH   with spaces", true}}));
}

TEST(Dockerfile, LabelPairsAndLegacyForm) {
  auto b = body(
      "FROM a\n"
      "LABEL org.opencontainers.image.title=\"My app\" \"com.example.key\"=value version=1.0\n"
      "LABEL description This is a description\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].pairs, (std::vector<KeyValue>{{"org.opencontainers.image.title", "\"My app\"", true},
                            {"\"com.example.key\"", "value", true}, {"version", "1.0", true}}));
  EXPECT_EQ(b[1].pairs, (std::vector<KeyValue>{{"description", "This is a description", true}}));
}

TEST(Dockerfile, ArgsWithAndWithoutDefaults) {
  Instruction a = one("FROM a\nARG USER=app UID GREETING=\"hello world\" EMPTY=\n");
  EXPECT_EQ(a.pairs,
      (std::vector<KeyValue>{{"USER", "app", true}, {"UID", "", false}, {"GREETING", "\"hello world\"", true}, {"EMPTY", "", true}}));
}

TEST(Dockerfile, PairErrors) {
  expect_error("FROM a\nENV FOO\n", "2:5", "ENV FOO has no value");
  expect_error("FROM a\nENV\n", "2:1", "ENV requires");
  expect_error("FROM a\nENV A=1 B\n", "2:9", "can't find = in 'B'");
  expect_error("FROM a\nENV =x\n", "2:5", "ENV names can not be blank");
  expect_error("FROM a\nLABEL a=b =c\n", "2:11", "LABEL names can not be blank");
  expect_error("FROM a\nLABEL\n", "2:1", "LABEL requires");
  expect_error("FROM a\nARG\n", "2:1", "ARG requires");
  expect_error("FROM a\nARG =1\n", "2:5", "ARG names can not be blank");
}

// ---- The one-argument instructions ---------------------------------------------------------

TEST(Dockerfile, WorkdirUserMaintainerTakeTheWholeRest) {
  auto b = body("FROM a\nWORKDIR /my app/$DIR\nUSER app:staff\nMAINTAINER Jane Doe <jane@example.com>\n");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].args, (Strings{"/my app/$DIR"}));
  EXPECT_EQ(b[1].args, (Strings{"app:staff"}));
  EXPECT_EQ(b[2].kind, Kind::maintainer);
  EXPECT_EQ(b[2].args, (Strings{"Jane Doe <jane@example.com>"}));
  expect_error("FROM a\nWORKDIR\n", "2:1", "WORKDIR requires exactly one argument");
  expect_error("FROM a\nUSER  \n", "2:1", "USER requires exactly one argument");
}

TEST(Dockerfile, ExposeVolumeStopsignal) {
  auto b = body(
      "FROM a\n"
      "EXPOSE 80/tcp 443 53/udp ${PORT}\n"
      "VOLUME [\"/data\", \"/var/log\"]\n"
      "VOLUME /a /b\n"
      "STOPSIGNAL SIGQUIT\n");
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].args, (Strings{"80/tcp", "443", "53/udp", "${PORT}"}));
  EXPECT_TRUE(b[1].exec_form);
  EXPECT_EQ(b[1].args, (Strings{"/data", "/var/log"}));
  EXPECT_FALSE(b[2].exec_form);
  EXPECT_EQ(b[2].args, (Strings{"/a", "/b"}));
  EXPECT_EQ(b[3].args, (Strings{"SIGQUIT"}));
  expect_error("FROM a\nSTOPSIGNAL a b\n", "2:14", "STOPSIGNAL requires exactly one argument");
  expect_error("FROM a\nEXPOSE\n", "2:1", "EXPOSE requires");
  expect_error("FROM a\nVOLUME []\n", "2:1", "VOLUME requires");
  expect_error("FROM a\nVOLUME [\"/a\", \"\"]\n", "2:8", "can not be an empty string");
}

// ---- HEALTHCHECK ---------------------------------------------------------------------------

TEST(Dockerfile, HealthcheckWithEveryOption) {
  Instruction h =
      one("FROM a\n"
          "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 \\\n"
          "  CMD curl -f http://localhost/ || exit 1\n");
  ASSERT_TRUE(h.health);
  EXPECT_EQ(h.health->test, (Strings{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}));
  EXPECT_EQ(h.health->interval, 30s);
  EXPECT_EQ(h.health->timeout, 90s);
  EXPECT_EQ(h.health->start_period, 1500ms);
  EXPECT_EQ(h.health->start_interval, 500ms);
  EXPECT_EQ(h.health->retries, 3);
  EXPECT_FALSE(h.exec_form);
}

TEST(Dockerfile, HealthcheckExecFormAndNone) {
  auto b = body("FROM a\nHEALTHCHECK cmd [\"/bin/check\", \"--quick\"]\nHEALTHCHECK NONE\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_TRUE(b[0].exec_form);
  EXPECT_EQ(b[0].health->test, (Strings{"CMD", "/bin/check", "--quick"}));
  EXPECT_EQ(b[0].health->interval, 0ns);
  EXPECT_EQ(b[0].health->retries, 0);
  EXPECT_EQ(b[1].health->test, (Strings{"NONE"}));
  EXPECT_TRUE(b[1].args.empty());
}

TEST(Dockerfile, HealthcheckErrors) {
  expect_error("FROM a\nHEALTHCHECK\n", "2:1", "HEALTHCHECK requires");
  expect_error("FROM a\nHEALTHCHECK NONE x\n", "2:18", "HEALTHCHECK NONE takes no arguments");
  expect_error("FROM a\nHEALTHCHECK --interval=5s NONE\n", "2:13", "HEALTHCHECK NONE takes no options");
  expect_error("FROM a\nHEALTHCHECK TEST true\n", "2:13", "unknown HEALTHCHECK type 'TEST'");
  expect_error("FROM a\nHEALTHCHECK CMD\n", "2:13", "HEALTHCHECK CMD requires a command");
  expect_error("FROM a\nHEALTHCHECK --interval=5 CMD true\n", "2:13", "--interval=5 is not a duration");
  expect_error("FROM a\nHEALTHCHECK --timeout=10us CMD true\n", "2:13", "--timeout cannot be less than 1ms");
  expect_error("FROM a\nHEALTHCHECK --timeout=1s --retries=-1 CMD true\n", "2:26", "--retries cannot be negative");
  expect_error("FROM a\nHEALTHCHECK --retries=x CMD true\n", "2:13", "--retries=x is not a number");
  expect_error("FROM a\nHEALTHCHECK --port=1 CMD true\n", "2:13", "unknown flag --port for HEALTHCHECK");
}

// ---- ONBUILD -------------------------------------------------------------------------------

TEST(Dockerfile, OnbuildHoldsItsTrigger) {
  auto b = body("FROM a\nONBUILD RUN echo \"built on $HOSTNAME\"\nonbuild  COPY --chown=1 . /app\n");
  ASSERT_EQ(b.size(), 2u);
  ASSERT_TRUE(b[0].trigger);
  EXPECT_EQ(b[0].kind, Kind::onbuild);
  EXPECT_TRUE(b[0].args.empty());
  EXPECT_EQ(b[0].trigger->kind, Kind::run);
  EXPECT_EQ(b[0].trigger->args, (Strings{"echo \"built on $HOSTNAME\""}));
  EXPECT_EQ(b[0].trigger->line, 2);
  EXPECT_EQ(b[0].trigger->column, 9);
  EXPECT_EQ(onbuild_expression(b[0]), "RUN echo \"built on $HOSTNAME\"");
  ASSERT_TRUE(b[1].trigger);
  EXPECT_EQ(b[1].trigger->kind, Kind::copy);
  EXPECT_EQ(b[1].trigger->flag("chown")->value, "1");
  EXPECT_EQ(b[1].trigger->destination(), "/app");
  EXPECT_EQ(b[1].trigger->original, "COPY --chown=1 . /app");
}

TEST(Dockerfile, OnbuildRefusesOnbuildFromAndMaintainer) {
  expect_error("FROM a\nONBUILD ONBUILD RUN x\n", "2:9", "chaining ONBUILD via ONBUILD ONBUILD isn't allowed");
  expect_error("FROM a\nONBUILD  from b\n", "2:10", "FROM isn't allowed as an ONBUILD trigger");
  expect_error("FROM a\nONBUILD MAINTAINER me\n", "2:9", "MAINTAINER isn't allowed as an ONBUILD trigger");
  expect_error("FROM a\nONBUILD\n", "2:1", "ONBUILD requires");
  expect_error("FROM a\nONBUILD NOPE x\n", "2:9", "unknown instruction: NOPE");
  expect_error("FROM a\nONBUILD COPY onlyone\n", "2:14", "COPY requires at least two arguments");
}

TEST(Dockerfile, OnbuildTriggerWithAHeredoc) {
  Instruction o = one("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n");
  ASSERT_TRUE(o.trigger);
  ASSERT_EQ(o.trigger->heredocs.size(), 1u);
  EXPECT_EQ(o.trigger->heredocs[0].content, "echo hi\n");
  EXPECT_EQ(o.end_line, 4);
  EXPECT_EQ(onbuild_expression(o), "RUN <<EOF\necho hi\nEOF");
}

// ---- Parser directives ---------------------------------------------------------------------

TEST(Dockerfile, DirectivesAtTheTop) {
  Dockerfile df = parsed(
      "# syntax=docker/dockerfile:1.7\n"
      "#CHECK = skip=JSONArgsRecommended;error=true  \n"
      "  # Escape=\\\n"
      "FROM a\n");
  EXPECT_EQ(df.directives.syntax, "docker/dockerfile:1.7");
  EXPECT_EQ(df.directives.check, "skip=JSONArgsRecommended;error=true");
  EXPECT_EQ(df.directives.escape, '\\');
}

TEST(Dockerfile, BacktickEscapeForWindowsPaths) {
  Dockerfile df = parsed(
      "# escape=`\n"
      "\n"
      "FROM mcr.microsoft.com/windows/servercore\n"
      "COPY testfile.txt c:\\\n"
      "RUN dir c:\\ `\n"
      "    && echo done\n"
      "ENV DIR=C:\\Program` Files\\App\n");
  EXPECT_EQ(df.directives.escape, '`');
  ASSERT_EQ(df.stages.size(), 1u);
  const auto& b = df.stages[0].instructions;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].destination(), "c:\\");
  EXPECT_EQ(b[1].args, (Strings{"dir c:\\     && echo done"}));
  EXPECT_EQ(b[1].line, 5);
  EXPECT_EQ(b[1].end_line, 6);
  EXPECT_EQ(b[2].pairs, (std::vector<KeyValue>{{"DIR", "C:\\Program` Files\\App", true}}));
}

TEST(Dockerfile, DirectivesAfterACommentOrBlankLineAreComments) {
  Dockerfile df = parsed("# a comment\n# escape=`\nFROM a\nRUN echo \\\n  b\n");
  EXPECT_EQ(df.directives.escape, '\\');
  EXPECT_EQ(df.stages[0].instructions[0].args, (Strings{"echo   b"}));

  Dockerfile blank = parsed("\n# syntax=x\nFROM a\n");
  EXPECT_EQ(blank.directives.syntax, "");

  // An unknown directive-looking comment ends the directives, too.
  Dockerfile unknown = parsed("# foo=bar\n# escape=`\nFROM a\n");
  EXPECT_EQ(unknown.directives.escape, '\\');

  // ...and one after an instruction is just a comment.
  Dockerfile late = parsed("FROM a\n# escape=`\n# escape=`\nRUN x\n");
  EXPECT_EQ(late.directives.escape, '\\');
}

TEST(Dockerfile, DirectiveErrors) {
  expect_error("# escape=`\n# ESCAPE=\\\nFROM a\n", "2:3", "only one escape parser directive can be used");
  expect_error("# syntax=a\n#syntax=b\nFROM a\n", "2:2", "only one syntax parser directive");
  expect_error("# escape=x\nFROM a\n", "1:10", "invalid escape 'x'");
}

// ---- Lines ---------------------------------------------------------------------------------

TEST(Dockerfile, ContinuationsDropCommentsAndEmptyLines) {
  Instruction r =
      one("FROM alpine\n"
          "RUN apk add \\\n"
          "    # a comment inside\n"
          "    curl \\\n"
          "\n"
          "  # another\n"
          "    git\n");
  EXPECT_EQ(r.args, (Strings{"apk add     curl     git"}));
  EXPECT_EQ(r.original, "RUN apk add     curl     git");
  EXPECT_EQ(r.line, 2);
  EXPECT_EQ(r.end_line, 7);
}

TEST(Dockerfile, WhitespaceAfterTheEscapeStillContinues) {
  Instruction r = one("FROM a\nRUN echo a \\  \t\n  b\n");
  EXPECT_EQ(r.args, (Strings{"echo a   b"}));
}

TEST(Dockerfile, AnEscapedEscapeAtTheEndIsNoContinuation) {
  auto b = body("FROM a\nRUN echo a\\\\\nRUN echo b\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].args, (Strings{"echo a\\\\"}));
  EXPECT_EQ(b[1].args, (Strings{"echo b"}));
}

TEST(Dockerfile, CommentsIndentationAndBlankLinesBetweenInstructions) {
  Dockerfile df = parsed("\n# first\n   FROM a   \n\n\t# indented comment\n\t  RUN x # not a comment\n");
  ASSERT_EQ(df.stages.size(), 1u);
  EXPECT_EQ(df.stages[0].from.line, 3);
  EXPECT_EQ(df.stages[0].from.column, 4);
  EXPECT_EQ(df.stages[0].from.original, "FROM a   ");
  const Instruction& r = df.stages[0].instructions.at(0);
  EXPECT_EQ(r.line, 6);
  EXPECT_EQ(r.column, 4);
  EXPECT_EQ(r.args, (Strings{"x # not a comment"}));
}

TEST(Dockerfile, CrlfLineEndingsAndAByteOrderMark) {
  Dockerfile df = parsed("\xEF\xBB\xBF# escape=`\r\nFROM alpine\r\nRUN echo a `\r\n  b\r\nCOPY x \\\r\n");
  EXPECT_EQ(df.directives.escape, '`');
  ASSERT_EQ(df.stages.size(), 1u);
  EXPECT_EQ(df.stages[0].base, "alpine");
  const auto& b = df.stages[0].instructions;
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].args, (Strings{"echo a   b"}));
  EXPECT_EQ(b[1].args, (Strings{"x", "\\"}));

  Dockerfile bom = parsed(
      "\xEF\xBB\xBF"
      "FROM a\n");
  EXPECT_EQ(bom.stages[0].base, "a");
  EXPECT_EQ(bom.stages[0].from.column, 1);
}

TEST(Dockerfile, NoTrailingNewline) {
  Instruction r = one("FROM a\nRUN true");
  EXPECT_EQ(r.args, (Strings{"true"}));
}

// ---- Heredocs ------------------------------------------------------------------------------

TEST(Dockerfile, RunHeredoc) {
  auto b = body(
      "FROM alpine\n"
      "RUN <<EOF\n"
      "apk add curl\n"
      "  echo $HOME \\\n"
      "EOF\n"
      "RUN echo after\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].args, (Strings{"<<EOF"}));
  ASSERT_EQ(b[0].heredocs.size(), 1u);
  EXPECT_EQ(b[0].heredocs[0], (Heredoc{"EOF", "apk add curl\n  echo $HOME \\\n", true, false, 0}));
  EXPECT_EQ(b[0].end_line, 5);
  EXPECT_EQ(b[0].original, "RUN <<EOF");
  EXPECT_EQ(b[1].line, 6);
  EXPECT_EQ(b[1].args, (Strings{"echo after"}));
}

TEST(Dockerfile, HeredocWithDashStripsLeadingTabs) {
  Instruction r = one("FROM a\nRUN <<-EOT bash\n\techo a\n\t\t  echo b\n\n\tEOT\n");
  ASSERT_EQ(r.heredocs.size(), 1u);
  EXPECT_EQ(r.heredocs[0].name, "EOT");
  EXPECT_EQ(r.heredocs[0].content, "echo a\n  echo b\n\n");
  EXPECT_TRUE(r.heredocs[0].strip_tabs);
  EXPECT_EQ(r.args, (Strings{"<<-EOT bash"}));
}

TEST(Dockerfile, QuotedDelimitersAreNotExpanded) {
  auto b = body(
      "FROM a\n"
      "RUN <<'EOF'\necho $HOME\nEOF\n"
      "RUN <<\"EOF\"\necho $HOME\nEOF\n"
      "RUN <<E\"O\"F\necho $HOME\nEOF\n"
      "RUN <<EOF\necho $HOME\nEOF\n");
  ASSERT_EQ(b.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(b[i].heredocs.size(), 1u);
    EXPECT_EQ(b[i].heredocs[0].name, "EOF");
    EXPECT_FALSE(b[i].heredocs[0].expand) << i;
    EXPECT_EQ(b[i].heredocs[0].content, "echo $HOME\n");
  }
  EXPECT_TRUE(b[3].heredocs[0].expand);
}

TEST(Dockerfile, TwoHeredocsOnOneLine) {
  Instruction c = one("FROM a\nCOPY <<one <<-\"two\" /dest/\nfirst\none\n\tsecond\n\ttwo\n");
  ASSERT_EQ(c.heredocs.size(), 2u);
  EXPECT_EQ(c.heredocs[0], (Heredoc{"one", "first\n", true, false, 0}));
  EXPECT_EQ(c.heredocs[1], (Heredoc{"two", "second\n", false, true, 0}));
  EXPECT_EQ(Strings(c.sources().begin(), c.sources().end()), (Strings{"<<one", "<<-\"two\""}));
  EXPECT_EQ(c.destination(), "/dest/");
  ASSERT_NE(c.heredoc_for("<<-\"two\""), nullptr);
  EXPECT_EQ(c.heredoc_for("<<-\"two\"")->content, "second\n");
  EXPECT_EQ(c.heredoc_for("/dest/"), nullptr);
  EXPECT_EQ(c.end_line, 6);
}

TEST(Dockerfile, HeredocsWithCommandsAndFileDescriptors) {
  auto b = body(
      "FROM a\n"
      "RUN python3 <<PY > /out && cat 3<<DATA /dev/fd/3\n"
      "print('hi')\n"
      "PY\n"
      "x\n"
      "DATA\n"
      "ADD <<EOF /etc/motd\n"
      "welcome\r\n"
      "EOF\r\n");
  ASSERT_EQ(b.size(), 2u);
  ASSERT_EQ(b[0].heredocs.size(), 2u);
  EXPECT_EQ(b[0].heredocs[0].name, "PY");
  EXPECT_EQ(b[0].heredocs[0].content, "print('hi')\n");
  EXPECT_EQ(b[0].heredocs[1].name, "DATA");
  EXPECT_EQ(b[0].heredocs[1].fd, 3u);
  EXPECT_EQ(b[0].heredocs[1].content, "x\n");
  // A CRLF file's heredoc keeps its line endings, as buildkit's does.
  ASSERT_EQ(b[1].heredocs.size(), 1u);
  EXPECT_EQ(b[1].heredocs[0].content, "welcome\r\n");
}

TEST(Dockerfile, NoHeredocsInExecFormQuotesOrOtherInstructions) {
  auto b = body(
      "FROM a\n"
      "RUN [\"cat\", \"<<EOF\"]\n"
      "RUN echo \"<<EOF\" '<<EOF' a<<b\n"
      "CMD cat <<EOF\n"
      "ENV A=<<EOF\n");
  ASSERT_EQ(b.size(), 4u);
  for (const auto& i : b) EXPECT_TRUE(i.heredocs.empty()) << i.original;
}

TEST(Dockerfile, HeredocErrors) {
  expect_error("FROM a\nRUN cat <<EOF\nline\n", "2:9", "unterminated heredoc <<EOF");
  expect_error("FROM a\nCOPY <<A <<B /x\na\nA\nb\n", "2:10", "unterminated heredoc <<B");
  expect_error("FROM a\nCOPY x <<EOF\nEOF\n", "2:8", "COPY cannot take a heredoc as its destination");
  // Without <<- the terminator must stand alone at the start of its line.
  expect_error("FROM a\nRUN <<EOF\n\tEOF\n", "2:5", "unterminated heredoc");
}

// ---- Errors --------------------------------------------------------------------------------

TEST(Dockerfile, UnknownInstruction) {
  expect_error("FROM a\n  FOO bar\n", "2:3", "unknown instruction: FOO");
  expect_error("FROM a\nRUN x\nCOPPY a b\n", "3:1", "unknown instruction: COPPY");
}

TEST(Dockerfile, MissingArguments) {
  expect_error("FROM a\nRUN\n", "2:1", "RUN requires a command");
  expect_error("FROM a\nRUN --network=none\n", "2:1", "RUN requires a command");
  expect_error("FROM a\nRUN []\n", "2:1", "RUN requires a command");
  expect_error("FROM a\nCMD\n", "2:1", "CMD requires a command");
  expect_error("FROM a\nENTRYPOINT\n", "2:1", "ENTRYPOINT requires a command");
  expect_error("FROM\n", "1:1", "FROM requires a base image");
  expect_error("FROM a\nCOPY\n", "2:1", "COPY requires at least two arguments");
  expect_error("FROM a\nCOPY onlyone\n", "2:6", "COPY requires at least two arguments");
  expect_error("FROM a\nADD [\"only\"]\n", "2:5", "ADD requires at least two arguments");
}

TEST(Dockerfile, FromArguments) {
  expect_error("FROM a b\n", "1:8", "FROM takes an image and optionally AS name");
  expect_error("FROM a is b\n", "1:8", "not 'is'");
  expect_error("FROM a AS b c\n", "1:13", "FROM requires either one or three arguments");
  expect_error("FROM a AS 1st\n", "1:11", "invalid stage name '1st'");
  expect_error("FROM a AS my/stage\n", "1:11", "invalid stage name");
  expect_error("FROM a AS x\nRUN y\nFROM b AS X\n", "3:11", "duplicate stage name 'x' (first on line 1)");
}

TEST(Dockerfile, OnlyArgMayComeBeforeTheFirstFrom) {
  expect_error("RUN x\nFROM a\n", "1:1", "RUN before the first FROM");
  expect_error("ARG A\n  COPY a b\nFROM x\n", "2:3", "COPY before the first FROM: only ARG may come before it");
}

TEST(Dockerfile, ADockerfileNeedsAFrom) {
  expect_error("", "1:1", "no instructions");
  expect_error("# just a comment\n\n", "1:1", "no instructions");
  expect_error("\n\nARG A=1\nARG B\n", "3:1", "no FROM instruction");
}

TEST(Dockerfile, ALoneEscapeAtTheEndOfTheFile) {
  expect_error("FROM a\nRUN echo \\", "2:10", "the file ends inside an instruction");
  expect_error("FROM a\nRUN echo \\\n  b \\  \n# trailing comment\n\n", "3:5", "ends in the escape character");
  expect_error("# escape=`\nFROM a\nRUN dir `\n", "3:9", "the file ends inside an instruction");
}

TEST(Dockerfile, ColumnsCountCharactersNotBytes) {
  expect_error("FROM a\nLABEL \xC3\xA9=1 x\n", "2:11", "can't find = in 'x'");
  expect_error("FROM a\nRUN echo \\\n\t\xE2\x82\xAC NOPE \\\n", "3:9", "the file ends inside");
}

TEST(Dockerfile, ErrorsInContinuedLinesPointAtTheirPhysicalLine) {
  expect_error("FROM a\nCOPY --from=x \\\n  # comment\n   --bogus=1 a b\n", "4:4", "unknown flag --bogus");
  expect_error("FROM a\nSTOPSIGNAL \\\n  TERM \\\n  KILL\n", "4:3", "STOPSIGNAL requires exactly one argument");
}

}  // namespace
}  // namespace tiffin::build
