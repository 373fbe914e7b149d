#include "flake/flake_config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "flake/flake_launch.hpp"

namespace tiffin::flake {
namespace {

// podman-pilot(8)'s example, as a flake-pilot user writes it.
constexpr const char* kFlakePilotYaml = R"(container:
  name: joe
  target_app_path: /usr/bin/joe
  host_app_path: /usr/bin/joe
  base_container: basesystem
  layers:
    - fortran_for_web
    - prolog_for_productivity
  runtime:
    runas: root
    resume: true
    attach: false
    podman:
      - --storage-opt size=10G
      - --rm
      - -ti
include:
  tar:
    - /var/lib/flakes/joe-config.tar
)";

TEST(FlakeConfig, ReadsFlakePilotsSchema) {
  auto c = parse_flake_yaml({kFlakePilotYaml}, {"joe.yaml"});
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_FALSE(c->vm);
  EXPECT_EQ(c->image, "joe");
  EXPECT_EQ(c->target(), "/usr/bin/joe");
  EXPECT_EQ(c->base_container, "basesystem");
  EXPECT_EQ(c->layers, (std::vector<std::string>{"fortran_for_web", "prolog_for_productivity"}));
  EXPECT_EQ(c->runas, "root");
  EXPECT_TRUE(c->resume);
  EXPECT_FALSE(c->attach);
  EXPECT_EQ(c->run_options, (std::vector<std::string>{"--storage-opt size=10G", "--rm", "-ti"}));
  EXPECT_EQ(c->include_tars, (std::vector<std::string>{"/var/lib/flakes/joe-config.tar"}));
  EXPECT_TRUE(c->engine_image.empty());
}

TEST(FlakeConfig, RoundTripsThroughItsYaml) {
  FlakeConfig c;
  c.image = "python:3";
  c.host_app_path = "/usr/bin/py";
  c.target_app_path = "/usr/local/bin/python3";
  c.base_container = "base";
  c.layers = {"l1"};
  c.runas = "root";
  c.attach = true;
  c.run_options = {"--memory 512m", "-e A=b c"};
  c.include_paths = {"/etc/app.conf"};
  c.engine_image = std::string(64, 'a');
  c.root = "/var/lib/tiffin";
  c.run_root = "/run/tiffin";
  c.user = "1000:1000";
  c.home = true;
  auto back = parse_flake_yaml({flake_yaml(c)}, {"py.yaml"});
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(*back, c);

  FlakeConfig vm = c;
  vm.vm = true;
  vm.attach = false;
  vm.memory_mib = 384;
  vm.cpus = 2;
  vm.kernel = "/boot/vmlinuz";
  vm.initrd = "/var/lib/tiffin/flakes/initrd.img";
  auto vm_back = parse_flake_yaml({flake_yaml(vm)}, {"py.yaml"});
  ASSERT_TRUE(vm_back) << vm_back.error().what();
  EXPECT_EQ(*vm_back, vm);
  EXPECT_NE(flake_yaml(vm).find("firecracker:"), std::string::npos);
}

TEST(FlakeConfig, DropInsMergeOverTheMainFile) {
  auto c = parse_flake_yaml(
      {kFlakePilotYaml, "container:\n  runtime:\n    resume: false\n    attach: true\n", "", "container:\n  layers: [only]\n"},
      {"joe.yaml", "joe.d/a.yaml", "joe.d/b.yaml", "joe.d/c.yaml"});
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->image, "joe");  // untouched keys stay
  EXPECT_FALSE(c->resume);
  EXPECT_TRUE(c->attach);
  EXPECT_EQ(c->runas, "root");                               // maps merge key by key
  EXPECT_EQ(c->layers, (std::vector<std::string>{"only"}));  // lists are replaced
  EXPECT_EQ(c->run_options.size(), 3u);
}

TEST(FlakeConfig, AContainerFlakeIgnoresFirecrackerSizes) {
  // Found by the fuzzer: sizes read for a container were not written back, so parse and write disagreed.
  auto c = parse_flake_yaml({"container:\n  name: i\n  host_app_path: /x\n  runtime:\n    firecracker: {vcpu_count: 1}\n"}, {"c.yaml"});
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->cpus, 0u);
  auto back = parse_flake_yaml({flake_yaml(*c)}, {"again.yaml"});
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->cpus, 0u);
}

TEST(FlakeConfig, ControlCharactersSurviveTheWriter) {
  // Found by the fuzzer: yaml-cpp wrote a lone \r bare, and read it back as a line break.
  FlakeConfig c;
  c.image = "i";
  c.host_app_path = "/x";
  c.runas = "\r";
  c.layers = {"a\tb", "\x01"};
  auto back = parse_flake_yaml({flake_yaml(c)}, {"again.yaml"});
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->runas, "\r");
  EXPECT_EQ(back->layers, c.layers);
}

TEST(FlakeConfig, BadYamlSaysWhereAndWhat) {
  auto broken = parse_flake_yaml({"container:\n  name: [unclosed\n"}, {"x.yaml"});
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().kind, Errc::invalid_input);
  EXPECT_NE(broken.error().what().find("x.yaml:"), std::string::npos) << broken.error().what();

  for (const char* bad : {"just text", "vm: 3", "container:\n  host_app_path: /usr/bin/x\n", "container:\n  name: img\n",
           "container:\n  name: img\n  host_app_path: /x\n  runtime:\n    resume: maybe\n",
           "container:\n  name: img\n  host_app_path: /x\n  runtime:\n    resume: true\n    attach: true\n",
           "container:\n  name: [a]\n  host_app_path: /x\n", "container:\n  name: i\n  host_app_path: /x\n  layers: {a: b}\n"}) {
    auto r = parse_flake_yaml({bad}, {"bad.yaml"});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, Errc::invalid_input) << bad;
    EXPECT_NE(r.error().what().find("bad.yaml"), std::string::npos) << r.error().what();
  }
}

TEST(FlakeConfig, RefusesWhatIsNotUtf8) {
  auto r = parse_flake_yaml({"container:\n  name: \"\xfc\xff\"\n  host_app_path: /x\n"}, {"bin.yaml"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("bin.yaml: not UTF-8"), std::string::npos) << r.error().what();
  EXPECT_TRUE(parse_flake_yaml({"container:\n  name: caf\xc3\xa9\n  host_app_path: /x\n"}, {"ok.yaml"}));
}

TEST(FlakeConfig, LoadsTheFileAndItsDropInsInNameOrder) {
  auto dir = std::filesystem::temp_directory_path() / ("flakes-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "joe.d");
  std::ofstream(dir / "joe.yaml") << kFlakePilotYaml;
  std::ofstream(dir / "joe.d" / "b.yaml") << "container:\n  name: second\n";
  std::ofstream(dir / "joe.d" / "a.yaml") << "container:\n  name: first\n";
  std::ofstream(dir / "joe.d" / "c.yml.disabled") << "not: read\n";
  auto c = load_flake(dir.string(), "joe");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->image, "second");
  auto missing = load_flake(dir.string(), "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);
  std::filesystem::remove_all(dir);
}

TEST(FlakeConfig, NamesComeFromTheAppPath) {
  EXPECT_EQ(*flake_name("/usr/bin/aws"), "aws");
  EXPECT_EQ(*flake_name("python3.11"), "python3.11");
  for (const char* bad : {"", "/usr/bin/", "/usr/bin/..", "/usr/bin/.hidden", "."}) EXPECT_FALSE(flake_name(bad)) << bad;
}

TEST(FlakeConfig, RunOptionsSplitAtTheirFirstSpace) {
  EXPECT_EQ(split_run_option("--storage-opt size=10G"), (std::vector<std::string>{"--storage-opt", "size=10G"}));
  EXPECT_EQ(split_run_option("-e A=b c"), (std::vector<std::string>{"-e", "A=b c"}));
  EXPECT_EQ(split_run_option("--rm"), (std::vector<std::string>{"--rm"}));
  EXPECT_EQ(split_run_option("--env=A=b c"), (std::vector<std::string>{"--env=A=b c"}));
  EXPECT_EQ(split_run_option("not a flag"), (std::vector<std::string>{"not a flag"}));
}

TEST(FlakeLaunch, PilotWordsAreNotTheApps) {
  auto call = split_pilot_words({"@work", "%silent", "-x", "a b", "@", "%"});
  EXPECT_EQ(call.instance, "work");
  EXPECT_EQ(call.args, (std::vector<std::string>{"-x", "a b", "@", "%"}));
}

TEST(FlakeLaunch, TheCallersDirectoryIsBoundUnlessItHidesTheSystem) {
  EXPECT_TRUE(binds_cwd("/home/joe/src"));
  EXPECT_TRUE(binds_cwd("/tmp"));
  EXPECT_TRUE(binds_cwd("/srv/data"));
  for (const char* no : {"/", "", "relative", "/usr", "/usr/local/src", "/etc", "/proc/1", "/lib64", "/dev", "/run/user"})
    EXPECT_FALSE(binds_cwd(no)) << no;
}

TEST(FlakeLaunch, RunArgvCarriesTheCallAndDropsWhatThePilotDecides) {
  FlakeConfig c;
  c.image = "bb";
  c.engine_image = "abc";
  c.host_app_path = "/usr/bin/bbx";
  c.target_app_path = "/bin/busybox";
  c.root = "/r";
  c.run_options = {"--rm", "-ti", "--memory 64m", "--name=x", "--entrypoint /bin/sh", "-e A=1"};
  c.user = "1000";
  Caller call;
  call.args = {"echo", "a b", "c\"d"};
  call.cwd = "/home/joe";
  auto argv = run_argv("/opt/tiffin", c, call);
  EXPECT_EQ(argv, (std::vector<std::string>{"/opt/tiffin", "--root", "/r", "run", "--rm", "--init", "-i", "-v", "/home/joe:/home/joe", "-w",
                      "/home/joe", "--user", "1000", "--memory", "64m", "-e", "A=1", "--network", "host", "--pull", "never", "--entrypoint",
                      "/bin/busybox", "abc", "echo", "a b", "c\"d"}));
  call.stdin_tty = call.stdout_tty = true;
  call.cwd = "/";
  argv = run_argv("/opt/tiffin", c, call, "flake-bbx-1");
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 3, argv.begin() + 12),
      (std::vector<std::string>{"run", "--name", "flake-bbx-1", "--label", "org.tiffin.flake=bbx", "--init", "-i", "-t", "-e"}));
  // The agent runs as root (its socket is root's); the user is each app's.
  auto resume = resume_container_words("/opt/tiffin-pilot", "/run/tiffin/flakes/flake-bbx-1", c, call, "flake-bbx-1");
  EXPECT_EQ(std::vector<std::string>(resume.begin(), resume.begin() + 6),
      (std::vector<std::string>{"run", "-d", "--name", "flake-bbx-1", "--label", "org.tiffin.flake=bbx"}));
  EXPECT_EQ(std::count(resume.begin(), resume.end(), "--user"), 0);
  EXPECT_EQ(std::vector<std::string>(resume.end() - 4, resume.end()),
      (std::vector<std::string>{"--entrypoint", "/.tiffin/tiffin-pilot", "abc", "agent"}));
  // One container a flake and instance, never another's: "foo" @bar is not "foo-bar".
  EXPECT_EQ(flake_container_name("bbx", ""), flake_container_name("bbx", ""));
  EXPECT_TRUE(flake_container_name("bbx", "").starts_with("flake-bbx-"));
  EXPECT_NE(flake_container_name("bbx", ""), flake_container_name("bbx", "w"));
  EXPECT_NE(flake_container_name("foo", "bar"), flake_container_name("foo-bar", ""));
  EXPECT_TRUE(flake_container_name("g++", "").starts_with("flake-g__-"));  // what a container name can hold
  c.run_options = {"--network bridge"};
  auto isolated = common_run_flags(c, call);
  EXPECT_EQ(std::count(isolated.begin(), isolated.end(), "--network"), 1);
  EXPECT_EQ(std::count(isolated.begin(), isolated.end(), "bridge"), 1);
}

}  // namespace
}  // namespace tiffin::flake
