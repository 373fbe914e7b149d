// Go's text/template over JSON (api/go_template) and docker's --format around it
// (api/docker_format): each construct, Go's printing of values, errors, table alignment.
#include <gtest/gtest.h>

#include "api/docker_format.hpp"
#include "api/go_template.hpp"

namespace tiffin::api {
namespace {

using json = nlohmann::json;

const json& data() {
  static const json d = json::parse(R"({
    "Id": "abc123", "Name": "/web",
    "State": {"Pid": 42, "Running": true, "Status": "running", "ExitCode": 0, "Health": null},
    "Config": {"Cmd": ["sh", "-c", "echo hi"], "Entrypoint": null, "Env": [], "Labels": {"a": "1", "com.x": "y"}},
    "Mounts": [{"Type": "volume", "Name": "data", "Destination": "/d"}, {"Type": "bind", "Source": "/h", "Destination": "/e"}],
    "NetworkSettings": {"Networks": {"tiffin": {"IPAddress": "10.89.0.2"}, "back": {"IPAddress": "10.90.0.3"}}},
    "Num": [3, 1, 2], "Float": 1.5, "Big": 1000000.0, "Small": 0.00001, "Neg": -7, "Empty": "", "Zero": 0
  })");
  return d;
}

std::string run(std::string_view t, const json& d = data()) {
  auto tmpl = GoTemplate::parse(t);
  if (!tmpl) return "PARSE: " + tmpl.error().message;
  auto out = tmpl->render(d);
  if (!out) return "EXEC: " + out.error().message;
  return *out;
}

bool parse_fails(std::string_view t, std::string_view what) {
  auto tmpl = GoTemplate::parse(t);
  if (tmpl) return false;
  EXPECT_EQ(tmpl.error().kind, Errc::invalid_input);
  EXPECT_NE(tmpl.error().message.find(what), std::string::npos) << tmpl.error().message;
  return true;
}

bool exec_fails(std::string_view t, std::string_view what) {
  auto tmpl = GoTemplate::parse(t);
  EXPECT_TRUE(tmpl) << (tmpl ? "" : tmpl.error().message);
  if (!tmpl) return false;
  auto out = tmpl->render(data());
  if (out) return false;
  EXPECT_NE(out.error().message.find(what), std::string::npos) << out.error().message;
  return true;
}

TEST(GoTemplate, TextFieldsAndDot) {
  EXPECT_EQ(run("plain text"), "plain text");
  EXPECT_EQ(run("{{.State.Pid}}"), "42");
  EXPECT_EQ(run("pid={{ .State.Pid }} name={{.Name}}"), "pid=42 name=/web");
  EXPECT_EQ(run("{{.Name}}", json("x")), "EXEC: template: :1:2: executing \"\" at <.Name>: can't evaluate field Name in type string");
  EXPECT_EQ(run("{{.}}", json("x")), "x");
  EXPECT_EQ(run("{{.NoSuch}}|{{.NoSuch.Deeper}}|{{.Config.Labels.zz}}"), "<no value>|<no value>|<no value>");
  EXPECT_EQ(run("{{$.Id}} {{$}}", json(7)), "EXEC: template: :1:3: executing \"\" at <$.Id>: can't evaluate field Id in type int");
}

TEST(GoTemplate, GoPrintsValues) {
  EXPECT_EQ(run("{{.Config.Cmd}}"), "[sh -c echo hi]");
  EXPECT_EQ(run("{{.NetworkSettings.Networks}}"), "map[back:map[IPAddress:10.90.0.3] tiffin:map[IPAddress:10.89.0.2]]");
  EXPECT_EQ(run("{{.Config.Entrypoint}} {{.Config.Env}} {{.State.Running}} {{.Neg}}"), "<nil> [] true -7");
  EXPECT_EQ(run("{{.Float}} {{.Big}} {{.Small}}"), "1.5 1e+06 1e-05");
  EXPECT_EQ(go_print(json(123456.0)), "123456");
  EXPECT_EQ(go_print(json(1234567.0)), "1.234567e+06");
  EXPECT_EQ(go_print(json(0.0001)), "0.0001");
  EXPECT_EQ(go_print(json::parse(R"({"b":[1,"x",null],"a":{}})")), "map[a:map[] b:[1 x <nil>]]");
}

TEST(GoTemplate, LiteralsAndEscapes) {
  EXPECT_EQ(run(R"({{"a\tb\n"}})"), "a\tb\n");
  EXPECT_EQ(run(R"({{"\x41\u00e9\101\\\""}})"),
      "Aé"
      "A\\\"");
  EXPECT_EQ(run("{{`raw\\t`}}"), "raw\\t");
  EXPECT_EQ(run("{{'a'}} {{0x1F}} {{0o17}} {{017}} {{1_000}} {{-3}} {{1.5}} {{1e3}} {{true}} {{false}}"),
      "97 31 15 15 1000 -3 1.5 1000 true false");
}

TEST(GoTemplate, TrimMarkersAndComments) {
  EXPECT_EQ(run("a  {{- .Id -}}  \n b"), "aabc123b");
  EXPECT_EQ(run("a {{-3}}"), "a -3");  // a number, not a trim marker
  EXPECT_EQ(run("x {{/* a comment */}} y"), "x  y");
  EXPECT_EQ(run("x {{- /* a comment */ -}} y"), "xy");
}

TEST(GoTemplate, PipelinesAndParentheses) {
  EXPECT_EQ(run(R"({{.State.Pid | printf "%05d"}})"), "00042");
  EXPECT_EQ(run(R"({{"x" | printf "%s-%s" "y"}})"), "y-x");
  EXPECT_EQ(run(R"({{(index .Mounts 0).Name}} {{len (index .Config.Cmd 2)}})"), "data 7");
  EXPECT_EQ(run("{{.Config.Cmd | len | printf \"%d args\"}}"), "3 args");
}

TEST(GoTemplate, Variables) {
  EXPECT_EQ(run("{{$x := .State.Pid}}{{$x}} {{$x = 7}}{{$x}}"), "42 7");
  EXPECT_EQ(run("{{with $c := .Config}}{{$c.Cmd}} {{$.Name}}{{end}}"), "[sh -c echo hi] /web");
  EXPECT_TRUE(parse_fails("{{$nope}}", "undefined variable \"$nope\""));
  EXPECT_TRUE(parse_fails("{{if true}}{{$x := 1}}{{end}}{{$x}}", "undefined variable"));
  EXPECT_TRUE(parse_fails("{{$y = 1}}", "undefined variable"));
}

TEST(GoTemplate, IfElseWith) {
  EXPECT_EQ(run("{{if .State.Running}}up{{else}}down{{end}}"), "up");
  EXPECT_EQ(run("{{if .Empty}}a{{else if .Zero}}b{{else if .Num}}c{{else}}d{{end}}"), "c");
  EXPECT_EQ(run("{{if .NoSuch}}a{{else}}b{{end}} {{if .Config.Env}}a{{else}}b{{end}} {{if .Config.Entrypoint}}a{{else}}b{{end}}"), "b b b");
  EXPECT_EQ(run("{{with .State}}{{.Pid}}{{end}} {{with .NoSuch}}a{{else with .Name}}{{.}}{{end}}"), "42 /web");
  EXPECT_EQ(run("{{with .Empty}}a{{else}}none{{end}}"), "none");
}

TEST(GoTemplate, Range) {
  EXPECT_EQ(run("{{range .Mounts}}{{.Destination}} {{end}}"), "/d /e ");
  EXPECT_EQ(run("{{range $i, $e := .Num}}{{$i}}={{$e}},{{end}}"), "0=3,1=1,2=2,");
  EXPECT_EQ(run("{{range $e := .Num}}{{$e}}{{end}}"), "312");
  EXPECT_EQ(run("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}:{{$v.IPAddress}} {{end}}"), "back:10.90.0.3 tiffin:10.89.0.2 ");
  EXPECT_EQ(run("{{range .Config.Env}}x{{else}}empty{{end}} {{range .NoSuch}}x{{else}}none{{end}}"), "empty none");
  EXPECT_EQ(run("{{range .Num}}{{if eq . 1}}{{continue}}{{end}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}"), "3");
  EXPECT_EQ(run("{{range 3}}{{.}}{{end}}"), "012");
  EXPECT_TRUE(exec_fails("{{range .Name}}{{end}}", "range can't iterate over /web"));
  EXPECT_TRUE(parse_fails("{{break}}", "outside {{range}}"));
  EXPECT_TRUE(parse_fails("{{range .Num}}{{else if .X}}{{end}}", "unexpected \"if\" in else"));
}

TEST(GoTemplate, Functions) {
  EXPECT_EQ(run("{{json .Config.Cmd}} {{json .Config.Labels}} {{json .NoSuch}}"), R"(["sh","-c","echo hi"] {"a":"1","com.x":"y"} null)");
  EXPECT_EQ(
      run(R"({{index .Config.Labels "com.x"}}|{{index .Config.Labels "zz"}}|{{index .Num 2}}|{{index .Mounts 1 "Source"}})"), "y||2|/h");
  EXPECT_EQ(run(R"({{len .Num}} {{len .Config.Labels}} {{len "héllo"}})"), "3 2 6");
  EXPECT_EQ(run(R"({{join .Config.Cmd ","}} {{split "a:b:c" ":"}} {{len (split "a:b" ":")}})"), "sh,-c,echo hi [a b c] 2");
  EXPECT_EQ(run(R"({{lower "ABc"}} {{upper "abC"}} {{title "hello wide-world"}})"), "abc ABC Hello Wide-World");
  EXPECT_EQ(run(R"({{truncate "abcdef" 3}} {{truncate "ab" 3}} [{{pad "x" 2 1}}] [{{pad "" 2 1}}])"), "abc ab [  x ] []");
  EXPECT_EQ(run(R"({{print 1 2 "a" 3 "b"}}|{{println "x" 1}}|{{slice "hello" 1 3}} {{slice .Num 1}})"), "1 2a3b|x 1\n|el [1 2]");
  EXPECT_EQ(run("{{not 0}} {{and 1 .Empty 2}}|{{and 1 2}} {{or .Zero .Empty \"z\"}} {{or 0}}"), "true |2 z 0");
  EXPECT_EQ(run("{{eq .State.Pid 42}} {{eq .Name \"/x\" \"/web\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2}}"),
      "true true true true true true false");
  EXPECT_EQ(run("{{eq .Float 1.5}} {{eq .Zero 0.0}} {{eq .NoSuch nil}}"), "true true true");
  EXPECT_TRUE(exec_fails("{{eq .Name 1}}", "incompatible types for comparison"));
  EXPECT_TRUE(exec_fails("{{eq .Num .Num}}", "non-comparable type"));
  EXPECT_TRUE(exec_fails("{{lt true false}}", "invalid type for comparison"));
  EXPECT_TRUE(exec_fails("{{index .Num 5}}", "error calling index: index out of range: 5"));
  EXPECT_TRUE(exec_fails("{{index .Num \"a\"}}", "cannot index slice with type string"));
  EXPECT_TRUE(exec_fails("{{len .State.Pid}}", "len of type int"));
  EXPECT_TRUE(exec_fails("{{len}}", "wrong number of args for len: want 1 got 0"));
  EXPECT_TRUE(exec_fails("{{upper 1}}", "expected string; got int"));
}

TEST(GoTemplate, Printf) {
  EXPECT_EQ(go_sprintf("%s|%-6s|%6s|%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%t|%q|%%",
                {"a", "ab", "ab", 42, 42, 42, -42, 3, 255, 255, 8, 5, 0x263A, true, "a\"b\n"}),
      "a|ab    |    ab|42|   42|42   |-0042|+3|ff|FF|10|101|☺|true|\"a\\\"b\\n\"|%");
  EXPECT_EQ(go_sprintf("%v %v %v %.2f %8.3f %e %g %.3g", {json::array({"a", 1}), nullptr, 2.5, 3.14159, 2.0, 1234.5, 1e6, 1234567.0}),
      "[a 1] <nil> 2.5 3.14    2.000 1.234500e+03 1e+06 1.23e+06");
  EXPECT_EQ(go_sprintf("%.2s|%5.1s|%*d|%-*d|", {"héllo", "xyz", 4, 7, 3, 8}), "hé|    x|   7|8  |");
  EXPECT_EQ(go_sprintf("%d %s", {"x", 1}), "%!d(string=x) %!s(int=1)");
  EXPECT_EQ(go_sprintf("%s %s", {"x"}), "x %!s(MISSING)");
  EXPECT_EQ(go_sprintf("%s", {"x", 2, "y"}), "x%!(EXTRA int=2, string=y)");
  EXPECT_EQ(go_sprintf("%z %", {1}), "%!z(int=1) %!(NOVERB)");
  EXPECT_EQ(go_sprintf("%99999999d", {1}), "%!(BADWIDTH)1");
  EXPECT_EQ(go_sprintf("%s", {json::array({"a", "b"})}), "[a b]");
  EXPECT_EQ(go_quote("a\tb\x01\xff"), "\"a\\tb\\x01\\xff\"");
}

TEST(GoTemplate, MethodsOfTheData) {
  TemplateMethods methods = {{"Label", [](const std::vector<json>& args) -> Result<json> {
                                if (args.size() != 1) return fail(Errc::invalid_input, "one argument");
                                return json("v-" + args[0].get<std::string>());
                              }}};
  auto t = GoTemplate::parse(R"({{.Label "k"}} {{"p" | .Label}} {{.Id}})");
  ASSERT_TRUE(t);
  ExecOptions opts;
  opts.methods = &methods;
  EXPECT_EQ(t->render(data(), opts).value_or("?"), "v-k v-p abc123");
  auto bad = GoTemplate::parse("{{.Label}}");
  ASSERT_TRUE(bad);
  auto r = bad->render(data(), opts);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("error calling Label: one argument"), std::string::npos);
  // Without methods, a field with arguments is Go's error.
  EXPECT_TRUE(exec_fails(R"({{.Id "k"}})", "Id is not a method but has arguments"));
}

TEST(GoTemplate, MissingKeyError) {
  auto t = GoTemplate::parse("{{.State.Nope}}");
  ASSERT_TRUE(t);
  ExecOptions opts;
  opts.missing_key_error = true;
  auto r = t->render(data(), opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "template: :1:8: executing \"\" at <.State.Nope>: map has no entry for key \"Nope\"");
}

TEST(GoTemplate, EvaluationErrorsSayWhereAndWhat) {
  EXPECT_EQ(run("ab\n  {{.State.Health.Status}}"),
      "EXEC: template: :2:10: executing \"\" at <.State.Health.Status>: nil pointer evaluating interface {}.Status");
  EXPECT_TRUE(exec_fails("{{.Name.First}}", "can't evaluate field First in type string"));
  EXPECT_TRUE(exec_fails("{{nil}}", "nil is not a command"));
  EXPECT_EQ(run("{{\"x\" 1}}"), "EXEC: template: :1:2: executing \"\" at <\"x\">: can't give argument to non-function \"x\"");
  EXPECT_TRUE(exec_fails("{{.Id | .Name}}", "Name is not a method but has arguments"));
  // What was written before the error stays written.
  auto t = GoTemplate::parse("ok {{.Name.X}}");
  ASSERT_TRUE(t);
  std::string out;
  EXPECT_FALSE(t->execute(data(), out));
  EXPECT_EQ(out, "ok ");
}

TEST(GoTemplate, MalformedTemplatesAreErrors) {
  EXPECT_TRUE(parse_fails("{{.A", "unclosed action"));
  EXPECT_TRUE(parse_fails("{{if .A}}x", "unexpected EOF"));
  EXPECT_TRUE(parse_fails("{{end}}", "unexpected {{end}}"));
  EXPECT_TRUE(parse_fails("{{else}}", "unexpected {{else}}"));
  EXPECT_TRUE(parse_fails("{{if}}{{end}}", "missing value for if"));
  EXPECT_TRUE(parse_fails("{{nosuch 1}}", "function \"nosuch\" not defined"));
  EXPECT_TRUE(parse_fails("{{\"abc}}", "unterminated quoted string"));
  EXPECT_TRUE(parse_fails("{{`abc}}", "unterminated raw quoted string"));
  EXPECT_TRUE(parse_fails("{{(.A}}", "unclosed left paren"));
  EXPECT_TRUE(parse_fails("{{.A)}}", "unexpected right paren"));
  EXPECT_TRUE(parse_fails("{{.A | }}", "missing value for command"));
  EXPECT_TRUE(parse_fails("{{.A | 1}}", "non executable command in pipeline stage 2"));
  EXPECT_TRUE(parse_fails("{{1.2.3}}", "bad number syntax"));
  EXPECT_TRUE(parse_fails("{{\"a\".B}}", "unexpected . after term"));
  EXPECT_TRUE(parse_fails("{{template \"x\"}}", "is not supported"));
  EXPECT_TRUE(parse_fails("{{/* open", "unclosed comment"));
  EXPECT_TRUE(parse_fails("{{.A ; }}", "unrecognized character in action: U+003B"));
  EXPECT_TRUE(parse_fails("line1\n{{if}}", "template: :2: missing value for if"));
}

TEST(GoTemplate, HostileTemplatesEndInErrors) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "{{if 1}}";
  EXPECT_TRUE(parse_fails(deep, "nesting too deep"));
  EXPECT_TRUE(parse_fails("{{" + std::string(300, '(') + "1" + std::string(300, ')') + "}}", "too many nested parentheses"));
  // Exponential work is cut off by the step budget, growing strings by the byte budget.
  std::string loops;
  for (int i = 0; i < 30; ++i) loops += "{{range $.Num}}";
  loops += "x";
  for (int i = 0; i < 30; ++i) loops += "{{end}}";
  EXPECT_TRUE(exec_fails(loops, "too many steps") || exec_fails(loops, "output too large"));
  std::string grow = "{{$s := \"xxxxxxxxxxxxxxxx\"}}";
  for (int i = 0; i < 40; ++i) grow += "{{$s = printf \"%s%s\" $s $s}}";
  EXPECT_TRUE(exec_fails(grow, "output too large"));
  EXPECT_TRUE(exec_fails("{{range 100000000000}}{{end}}", "too many steps"));
  EXPECT_TRUE(exec_fails("{{pad \"x\" 100000000000 0}}", "result too large"));
}

TEST(TabWriter, AlignsColumnsAsDockerDoes) {
  EXPECT_EQ(tabwrite("NAMES\tIMAGE\tSTATUS\nweb\tbusybox\tUp 2 seconds\nverylongcontainername\tx\tExited (0)\n"),
      "NAMES                   IMAGE     STATUS\n"
      "web                     busybox   Up 2 seconds\n"
      "verylongcontainername   x         Exited (0)\n");
  // A line without tabs ends a column block; widths count characters, not bytes.
  EXPECT_EQ(tabwrite("a\tb\nno tabs\nlonger-cell-here\tc\n", 1, 1), "a b\nno tabs\nlonger-cell-here c\n");
  EXPECT_EQ(tabwrite("é\tb\nab\tc", 1, 1), "é  b\nab c");
}

TEST(DockerFormat, TablesRowsAndJson) {
  FormatRow r1{{{"Names", "web"}, {"Image", "busybox"}, {"ID", "abc"}}, {{"com.x", "1"}}};
  FormatRow r2{{{"Names", "a-much-longer-name"}, {"Image", "alpine:3"}, {"ID", "def"}}, {}};
  auto table = ListFormat::parse(R"(table {{.Names}}\t{{.Image}}\t{{.Label "com.x"}})");
  ASSERT_TRUE(table);
  EXPECT_EQ(table->kind(), ListFormat::Kind::table);
  ASSERT_TRUE(table->add(r1));
  ASSERT_TRUE(table->add(r2));
  EXPECT_EQ(table->finish(ps_headers()),
      "NAMES                IMAGE      X\n"
      "web                  busybox    1\n"
      "a-much-longer-name   alpine:3   \n");
  auto rows = ListFormat::parse(R"({{.Names}}\t{{json .ID}})");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->kind(), ListFormat::Kind::rows);
  ASSERT_TRUE(rows->add(r1));
  EXPECT_EQ(rows->finish(ps_headers()), "web\t\"abc\"\n");
  auto one = ListFormat::parse("{{json .}}");
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->add(r2));
  EXPECT_EQ(one->finish(ps_headers()), R"({"ID":"def","Image":"alpine:3","Names":"a-much-longer-name"})"
                                       "\n");
  EXPECT_EQ(ListFormat::parse("")->kind(), ListFormat::Kind::default_table);
  EXPECT_EQ(ListFormat::parse("table")->kind(), ListFormat::Kind::default_table);
  EXPECT_EQ(ListFormat::parse("json")->kind(), ListFormat::Kind::json);
  EXPECT_EQ(ListFormat::parse(" json")->kind(), ListFormat::Kind::rows);  // docker's: a template printing json
  EXPECT_FALSE(ListFormat::parse("{{.Names"));
}

TEST(DockerFormat, JsonIsDockersObjectPerLine) {
  FormatRow r{{{"Names", "web"}, {"Command", "\"a && b <c>\""}, {"Platform", nullptr}}, {}};
  auto j = ListFormat::parse("json");
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->add(r));
  ASSERT_TRUE(j->add(r));
  std::string line = R"({"Command":"\"a \u0026\u0026 b \u003cc\u003e\"","Names":"web","Platform":null})"
                     "\n";
  EXPECT_EQ(j->finish(ps_headers()), line + line);
  // '{{json .}}' of a row is the same (json.Marshal); of a field docker's encoder does not escape.
  auto t = ListFormat::parse("{{json .}} {{json .Command}}");
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->add(r));
  EXPECT_EQ(t->finish(ps_headers()), line.substr(0, line.size() - 1) + R"( "\"a && b <c>\"")" + "\n");
  EXPECT_EQ(go_json(json("x\u2028\x01\xff"), false), R"("x\u2028\u0001\ufffd")");
}

TEST(DockerFormat, RowsOfTheApiObjects) {
  auto ps = ps_row(json::parse(R"({"Id":"0123456789abcdef","Names":["/web"],"Image":"busybox@sha256:aa","ImageID":"sha256:ff",
      "Command":"sleep 1000","Created":0,"State":"running","Status":"Up 1 second","Labels":{"a":"b"},
      "Ports":[{"IP":"0.0.0.0","PrivatePort":81,"PublicPort":81,"Type":"tcp"},{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":80,"Type":"tcp"},
               {"IP":"::","PrivatePort":90,"PublicPort":9090,"Type":"udp"},{"PrivatePort":53,"PublicPort":0,"Type":"udp"}],
      "Mounts":[{"Name":"data","Source":"/x","Driver":"local"},{"Source":"/a/very/long/host/path"}],
      "NetworkSettings":{"Networks":{"n1":{},"n2":{}}}})"),
      true);
  EXPECT_EQ(ps.fields["ID"], "0123456789ab");
  EXPECT_EQ(ps.fields["Names"], "web");
  EXPECT_EQ(ps.fields["Image"], "busybox");
  EXPECT_EQ(ps.fields["Ports"], "53/udp, 0.0.0.0:80-81->80-81/tcp, [::]:9090->90/udp");
  EXPECT_EQ(ps.fields["Mounts"], "data,/a/very/long/h…");
  EXPECT_EQ(ps.fields["LocalVolumes"], "1");
  EXPECT_EQ(ps.fields["Networks"], "n1,n2");
  EXPECT_TRUE(ps.fields["Platform"].is_null());
  auto untagged = image_rows(json::parse(R"({"Id":"sha256:0123456789abcdef","RepoTags":[],"RepoDigests":[],"Created":0,"Size":2015268,
      "VirtualSize":2015268,"SharedSize":-1,"Containers":-1})"),
      true, false);
  ASSERT_EQ(untagged.size(), 1u);
  EXPECT_EQ(untagged[0].fields["Repository"], "<none>");
  EXPECT_EQ(untagged[0].fields["ID"], "0123456789ab");
  EXPECT_EQ(untagged[0].fields["Size"], "2.02MB");
  EXPECT_EQ(untagged[0].fields["VirtualSize"], "2.015MB");
  auto pulled = json::parse(R"({"Id":"sha256:01","RepoTags":["h:5000/t/bb:1","h:5000/t/bb:2"],"RepoDigests":["h:5000/t/bb@sha256:dd"]})");
  auto rows = image_rows(pulled, false, false);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].fields["Repository"], "h:5000/t/bb");
  EXPECT_EQ(rows[1].fields["Tag"], "2");
  EXPECT_EQ(rows[1].fields["Digest"], "<none>");
  EXPECT_EQ(image_rows(pulled, false, true)[0].fields["Digest"], "sha256:dd");
  auto net = network_row(json::parse(R"({"Id":"host","Name":"host","Driver":"host","Scope":"local"})"), true);
  EXPECT_EQ(net.fields["CreatedAt"], "0001-01-01 00:00:00 +0000 UTC");
  EXPECT_EQ(net.fields["IPv4"], "false");
  EXPECT_EQ(network_row(json::parse(R"({"Id":"x","Created":"2026-01-02T03:04:05Z","EnableIPv4":true})"), true).fields["CreatedAt"],
      "2026-01-02 03:04:05 +0000 UTC");
}

TEST(DockerFormat, NaturalOrder) {
  EXPECT_TRUE(natural_less("v9", "v10"));
  EXPECT_FALSE(natural_less("v10", "v9"));
  EXPECT_TRUE(natural_less("A", "a"));
  EXPECT_TRUE(natural_less("1x", "x"));
  EXPECT_TRUE(natural_less("v01", "v001"));
  EXPECT_TRUE(natural_less("net", "net2"));
  EXPECT_FALSE(natural_less("same", "same"));
}

TEST(DockerFormat, InspectRunsTheTemplatePerObject) {
  std::vector<json> objs = {json::parse(R"({"State":{"Pid":1}})"), json::parse(R"({"State":{"Pid":2}})")};
  EXPECT_EQ(format_inspect("{{.State.Pid}}", objs).value_or("?"), "1\n2\n");
  EXPECT_EQ(format_inspect("json", objs).value_or("?"), R"([{"State":{"Pid":1}},{"State":{"Pid":2}}])"
                                                        "\n");
  EXPECT_EQ(format_inspect("", {json::object()}).value_or("?"), "[\n  {}\n]\n");
  EXPECT_FALSE(format_inspect("{{.State.Pid.X}}", objs));
}

TEST(DockerFormat, SizesAsDockerPrintsThem) {
  EXPECT_EQ(docker_size(0), "0B");
  EXPECT_EQ(docker_size(999), "999B");
  EXPECT_EQ(docker_size(1234), "1.23kB");
  EXPECT_EQ(docker_size(7800000), "7.8MB");
  EXPECT_EQ(docker_size(123456789), "123MB");
}

}  // namespace
}  // namespace tiffin::api
