#include "build/image_config_steps.hpp"

#include <gtest/gtest.h>

namespace tiffin::build {
namespace {

// The instructions of a one-stage Dockerfile's stage.
std::vector<Instruction> stage(const std::string& body) {
  auto df = parse_dockerfile("FROM scratch\n" + body);
  EXPECT_TRUE(df) << df.error().message;
  return df->stages.front().instructions;
}

struct Applied {
  ImageConfig config;
  StageScope scope;
  std::optional<std::string> mkdir;
};

Applied apply_all(const std::string& body, StageScope scope = {}, ImageConfig config = {}) {
  Applied a{std::move(config), std::move(scope), {}};
  for (const auto& ins : stage(body)) {
    auto r = apply_config_step(ins, a.config, a.scope, '\\');
    EXPECT_TRUE(r) << ins.original << ": " << r.error().message;
    if (r && r->mkdir) a.mkdir = r->mkdir;
  }
  return a;
}

TEST(ConfigSteps, EnvWordsSeeTheValuesFromBeforeTheInstruction) {
  auto a = apply_all("ENV A=1\nENV A=2 B=$A C=\"${A}x\"\nENV D $A and more\n");
  EXPECT_EQ(a.config.env, (std::vector<std::string>{"A=2", "B=1", "C=1x", "D=2 and more"}));
}

TEST(ConfigSteps, EnvReplacesAVariableWhereItIs) {
  ImageConfig base;
  base.env = {"PATH=/bin", "HOME=/root"};
  auto a = apply_all("ENV APP=/srv\nENV PATH=/usr/local/bin:$PATH\n", {}, base);
  EXPECT_EQ(a.config.env, (std::vector<std::string>{"PATH=/usr/local/bin:/bin", "HOME=/root", "APP=/srv"}));
}

TEST(ConfigSteps, ArgsTakeBuildArgsThenDefaultsThenMetaValues) {
  StageScope scope;
  scope.build_args = {{"GIVEN", "from-cli"}};
  scope.meta_args = {"META=m1"};
  auto a = apply_all("ARG GIVEN=default\nARG DEFAULTED=d$GIVEN\nARG META\nARG UNSET\nENV OUT=$GIVEN/$DEFAULTED/$META/$UNSET\n", scope);
  EXPECT_EQ(a.config.env, (std::vector<std::string>{"OUT=from-cli/dfrom-cli/m1/"}));
  EXPECT_EQ(arg_values(a.scope), "DEFAULTED=dfrom-cli\nGIVEN=from-cli\nMETA=m1");
  // ENV wins over an ARG of the same name; RUN sees ARGs ENV does not set.
  auto b = apply_all("ARG X=arg\nARG Y=y\nENV X=env\nENV Z=$X\n");
  EXPECT_EQ(b.config.env, (std::vector<std::string>{"X=env", "Z=env"}));
  EXPECT_EQ(run_env(b.scope, b.config), (std::vector<std::string>{"X=env", "Z=env", "Y=y"}));
}

TEST(ConfigSteps, WorkdirIsRelativeToTheLastAndIsMade) {
  auto a = apply_all("WORKDIR /srv\nWORKDIR app/../web/\nENV W=$PWD\n");
  EXPECT_EQ(a.config.workdir, "/srv/web");
  EXPECT_EQ(a.mkdir, "/srv/web");
}

TEST(ConfigSteps, ExposeVolumeLabelStopsignalHealthcheckOnbuild) {
  auto a = apply_all(
      "ARG P=90\nEXPOSE 80 $P/udp 7000-7002/TCP\nEXPOSE 80/tcp\nVOLUME /a /b\nVOLUME [\"/d\"]\nLABEL \"k 1\"=v a.b=$P\n"
      "STOPSIGNAL SIGUSR1\nHEALTHCHECK --interval=5s CMD true\nONBUILD RUN make\nMAINTAINER me\n");
  EXPECT_EQ(a.config.ports, (std::vector<std::string>{"80/tcp", "90/udp", "7000/tcp", "7001/tcp", "7002/tcp"}));
  EXPECT_EQ(a.config.volumes, (std::vector<std::string>{"/a", "/b", "/d"}));
  EXPECT_EQ(a.config.labels, (std::map<std::string, std::string>{{"k 1", "v"}, {"a.b", "90"}}));
  EXPECT_EQ(a.config.stop_signal, "SIGUSR1");
  EXPECT_EQ(a.config.healthcheck.test, (std::vector<std::string>{"CMD-SHELL", "true"}));
  EXPECT_EQ(a.config.healthcheck.interval_ns, 5'000'000'000);
  EXPECT_EQ(a.config.onbuild, (std::vector<std::string>{"RUN make"}));
  ImageConfig c;
  StageScope s;
  for (const char* bad : {"EXPOSE 0", "EXPOSE 80/icmp", "EXPOSE 90-80", "EXPOSE x"}) {
    auto ins = stage(bad);
    EXPECT_FALSE(apply_config_step(ins.front(), c, s, '\\')) << bad;
  }
}

TEST(ConfigSteps, EntrypointDropsTheBasesCmdButNotTheStages) {
  ImageConfig base;
  base.cmd = {"base-cmd"};
  EXPECT_TRUE(apply_all("ENTRYPOINT [\"/run\"]\n", {}, base).config.cmd.empty());
  auto a = apply_all("CMD [\"mine\"]\nENTRYPOINT /run $X\n", {}, base);
  EXPECT_EQ(a.config.cmd, (std::vector<std::string>{"mine"}));
  EXPECT_EQ(a.config.entrypoint, (std::vector<std::string>{"/bin/sh", "-c", "/run $X"}));  // the shell expands it
  auto b = apply_all("SHELL [\"/bin/bash\", \"-ec\"]\nCMD echo hi\n");
  EXPECT_EQ(b.config.cmd, (std::vector<std::string>{"/bin/bash", "-ec", "echo hi"}));
  EXPECT_EQ(b.config.shell, (std::vector<std::string>{"/bin/bash", "-ec"}));  // docker's Config.Shell
}

TEST(ConfigSteps, RunArgvForEveryForm) {
  StageScope scope;
  auto ins = stage("RUN echo $HOME\nRUN [\"/bin/echo\", \"$HOME\"]\nRUN <<EOF\necho one\nEOF\nRUN cat <<EOF > /f\nx\nEOF\n");
  EXPECT_EQ(*run_argv(ins[0], scope), (std::vector<std::string>{"/bin/sh", "-c", "echo $HOME"}));
  EXPECT_EQ(*run_argv(ins[1], scope), (std::vector<std::string>{"/bin/echo", "$HOME"}));
  EXPECT_EQ(*run_argv(ins[2], scope), (std::vector<std::string>{"/bin/sh", "-c", "echo one\n"}));
  EXPECT_EQ(*run_argv(ins[3], scope), (std::vector<std::string>{"/bin/sh", "-c", "cat <<EOF > /f\nx\nEOF"}));
}

TEST(ConfigSteps, NotConfigSteps) {
  ImageConfig c;
  StageScope s;
  for (const auto& ins : stage("RUN true\nCOPY a b\n")) EXPECT_EQ(apply_config_step(ins, c, s, '\\').error().kind, Errc::internal);
}

}  // namespace
}  // namespace tiffin::build
