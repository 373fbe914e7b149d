// tiffin login [-u USER] [-p PASS | --password-stdin] [REGISTRY] | tiffin logout [REGISTRY]
// docker's verbs: the credentials are checked against the registry (GET /v2/ through its auth
// flow) before they are stored, in the file credentials.hpp names (mode 0600).
#include <fmt/core.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "cli/cli.hpp"
#include "common/text.hpp"
#include "image/credentials.hpp"
#include "image/reference.hpp"
#include "image/registry_client.hpp"

namespace tiffin::cli {
namespace {

// "https://host:5000/v1/", "host:5000", "index.docker.io" → the registry as references name it.
Result<std::string> registry_name(std::string text) {
  if (text.empty()) return std::string("docker.io");
  for (const char* scheme : {"https://", "http://"})
    if (text.starts_with(scheme)) text = text.substr(std::string_view(scheme).size());
  text = text.substr(0, text.find('/'));
  if (text == "index.docker.io" || text == "registry-1.docker.io") text = "docker.io";
  // A host is what the reference grammar takes before a repository.
  auto ref = image::parse_reference(text + "/x");
  if (!ref || ref->registry != text) return fail(Errc::invalid_input, "invalid registry \"" + printable(text) + "\" (host[:port])");
  return text;
}

// One line from the terminal (echo off for passwords) or from stdin.
Result<std::string> prompt(const char* what, bool secret) {
  if (!::isatty(0))
    return fail(Errc::invalid_input, std::string("no ") + what + " given (-u, -p or --password-stdin) and stdin is no terminal");
  fmt::print(stderr, "{}: ", what);
  termios saved{};
  bool hide = secret && ::tcgetattr(0, &saved) == 0;
  if (hide) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(0, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (hide) {
    ::tcsetattr(0, TCSANOW, &saved);
    fmt::print(stderr, "\n");
  }
  return line;
}

}  // namespace

void add_login(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string registry, username, password;
    bool password_stdin = false, tls_verify = true;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* login = app.add_subcommand("login", "Log in to a registry (the credentials are checked, then stored)");
  login->add_option("registry", o->registry, "host[:port]; docker.io when omitted");
  login->add_option("-u,--username", o->username, "Username");
  auto* pw = login->add_option("-p,--password", o->password, "Password (visible to other users: prefer --password-stdin)");
  login->add_flag("--password-stdin", o->password_stdin, "Read the password from stdin")->excludes(pw);
  login->add_option("--tls-verify", o->tls_verify, "Verify the registry's certificate (false: also try plain http)")->capture_default_str();
  login->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::string registry = TRY(registry_name(o->registry));
      if (!o->password.empty()) fmt::print(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
      if (o->password_stdin) {
        if (o->username.empty()) return fail(Errc::invalid_input, "--password-stdin needs --username");
        std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
        o->password = all;
      }
      if (o->username.empty()) o->username = TRY(prompt("Username", false));
      if (o->password.empty() && !o->password_stdin) o->password = TRY(prompt("Password", true));
      if (o->username.empty()) return fail(Errc::invalid_input, "the username is empty");
      if (o->password.empty()) return fail(Errc::invalid_input, "the password is empty");

      image::Credentials creds{o->username, o->password};
      image::RegistryOptions ro;
      ro.credentials = creds;
      ro.tls_verify = o->tls_verify;
      image::RegistryClient client(ro);
      image::Reference where;
      where.registry = registry;
      TRY(client.check_login(where));
      TRY(image::store_credentials(registry, creds));
      fmt::print("Login Succeeded\n");
      return 0;
    });
  });

  auto logout_registry = std::make_shared<std::string>();
  CLI::App* logout = app.add_subcommand("logout", "Forget the credentials stored for a registry");
  logout->add_option("registry", *logout_registry, "host[:port]; docker.io when omitted");
  logout->callback([&ctx, logout_registry] {
    ctx.run([&]() -> Result<int> {
      std::string registry = TRY(registry_name(*logout_registry));
      auto r = image::remove_credentials(registry);
      if (!r && r.error().kind == Errc::not_found) {
        // docker's answer: nothing to do is not a failure.
        fmt::print(stderr, "Not logged in to {}\n", registry);
        return 0;
      }
      TRY(std::move(r));
      fmt::print("Removing login credentials for {}\n", registry);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
