#include "build/builder.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include "build/build_cache.hpp"
#include "build/build_context.hpp"
#include "build/copy_layer.hpp"
#include "build/dockerfile.hpp"
#include "build/image_config_steps.hpp"
#include "build/shell_lexer.hpp"
#include "common/fd.hpp"
#include "common/remove_tree.hpp"
#include "common/text.hpp"
#include "engine/user_lookup.hpp"
#include "flist/content.hpp"
#include "flist/flist_file.hpp"
#include "flist/merge.hpp"
#include "flist/pack.hpp"
#include "store/router.hpp"

namespace tiffin::build {
namespace {

namespace fs = std::filesystem;

// SIGINT, SIGTERM or SIGHUP during a build: the build stops between steps or while a RUN
// streams, and its destructor removes the step's container and the intermediate images. A
// handler (not a blocked mask) so that the shims and containers the build starts inherit
// nothing of it: exec resets handled signals to their defaults.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int sig) { g_interrupted = sig; }

class InterruptGuard {
 public:
  explicit InterruptGuard(bool active) : active_(active) {
    if (!active_) return;
    g_interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~InterruptGuard() {
    if (!active_) return;
    for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  bool active_;
  struct sigaction old_[std::size(kSignals)]{};
};

Result<void> check_interrupted(const BuildOptions& o) {
  if (int sig = o.handle_signals ? static_cast<int>(g_interrupted) : 0)
    return fail(Errc::unavailable, fmt::format("build interrupted by signal {}", sig));
  if (o.cancelled && o.cancelled()) return fail(Errc::unavailable, "build cancelled");
  return {};
}

// What a RUN's container can stand on without an image made for it: an intermediate image of
// an earlier tree, and the upper directories of the RUNs run over it since, oldest first. It
// stands for the stage's tree while `version` is the stage's tree_version, that is while
// nothing but those RUNs changed the tree (a COPY, WORKDIR's mkdir or a cached RUN ends it),
// and while the config's VOLUMEs are the image's (a RUN's container mounts an anonymous volume
// on each: what it writes there is not kept, as with docker).
struct RunChain {
  std::string image;
  std::vector<std::string> uppers;
  uint64_t version = 0;
  std::vector<std::string> volumes;
};

// What a stage is while it builds: its tree and config so far, the key of its last step.
struct StageState {
  Tree tree;
  uint64_t tree_version = 0;  // bumped with every change of `tree`
  std::optional<RunChain> chain;
  ImageConfig config;
  Hash key{};
  StageScope scope;  // ARGs in scope, SHELL, whether CMD came from the base
  bool built = false;
};

// overlayfs takes its options in one page: a chain is cut (a new intermediate image made)
// before its lowerdir list could grow near that.
constexpr size_t kMaxChainedRuns = 16;

std::string random_hex(size_t bytes) {
  Bytes b(bytes);
  (void)::getrandom(b.data(), b.size(), 0);
  return to_hex(b);
}

Hash chain(const Hash& parent, std::initializer_list<std::string_view> parts) {
  Blake2b h;
  h.update(std::span<const uint8_t>(parent));
  for (auto p : parts) h.field(p);
  return h.finish();
}

std::string short_hex(const Hash& h) { return to_hex(h).substr(0, 12); }

// What one stage's thread builds with: an engine and a cache connection of its own (neither
// is shared across threads), and the node's store.
struct Worker {
  engine::Engine& e;
  BuildCache cache;
  std::shared_ptr<Router> store;
  std::string run_output;  // a RUN's output not yet a whole line
};

class Build {
 public:
  Build(engine::Engine& e, const BuildOptions& o, Dockerfile df) : e_(e), o_(o), df_(std::move(df)), nonce_(random_hex(8)) {}

  ~Build() {
    for (const auto& id : containers_) (void)e_.remove(id, true);
    for (const auto& id : intermediates_) (void)e_.remove_image(id, true);
    if (!steps_dir_.empty()) (void)remove_tree(steps_dir_);  // no container stands on them any more
  }

  Result<BuildResult> run() {
    meta_args_ = TRY(meta_arg_values());
    size_t target = TRY(target_stage());
    needed_.assign(df_.stages.size(), false);
    deps_.assign(df_.stages.size(), {});
    TRY(mark_needed(target));
    // Steps are numbered in the Dockerfile's order, whichever stage prints first.
    first_step_.assign(df_.stages.size(), 0);
    for (size_t i = 0; i < df_.stages.size(); ++i)
      if (needed_[i]) {
        first_step_[i] = total_ + 1;
        total_ += 1 + df_.stages[i].instructions.size();
      }
    // The layers' blocks are named only by the cache and the images this build stores.
    auto holding = TRY(e_.hold_blocks());
    Worker main = TRY(open_worker(e_));
    // The planning pass: every step's key without a tree or a container. When the whole build's
    // key names an image the store still has, that image is the result.
    std::optional<Hash> final_key;
    if (!o_.no_cache) {
      final_key = TRY(plan(main, target));
      if (auto found = TRY(built_before(main, *final_key))) return *found;
      steps_ = cached_ = 0;
    }
    stages_.assign(df_.stages.size(), StageState{});
    TRY(build_stages());
    auto result = TRY(finish(main, stages_[target]));
    if (final_key) TRY(main.cache.put_image(*final_key, result.image.id));
    return result;
  }

 private:
  template <class... T>
  void say(fmt::format_string<T...> f, T&&... args) {
    if (!o_.progress) return;
    std::string line = fmt::format(f, std::forward<T>(args)...);
    std::lock_guard lock(say_mu_);
    if (held_) held_->push_back(std::move(line));
    else o_.progress(line);
  }

  // Keys only, stage after stage, the lines they would print held back.
  Result<Hash> plan(Worker& w, size_t target) {
    stages_.assign(df_.stages.size(), StageState{});
    dry_ = true;
    held_.emplace();
    for (size_t i = 0; i <= target; ++i)
      if (needed_[i]) TRY(build_stage(w, i));
    dry_ = false;
    std::string labels;
    for (const auto& [k, v] : o_.labels) labels += k + "=" + v + "\n";
    return chain(stages_[target].key, {"labels", labels});
  }

  Result<std::optional<BuildResult>> built_before(Worker& w, const Hash& final_key) {
    auto lines = std::exchange(held_, std::nullopt);
    auto id = TRY(w.cache.image_for(final_key));
    if (!id) return std::optional<BuildResult>();
    auto image = w.e.resolve_image(*id, "never");
    if (!image) return std::optional<BuildResult>();  // removed since: build it again
    for (const auto& line : *lines) say("{}", line);
    return std::optional<BuildResult>(TRY(announce(w.e, *image)));
  }

  // The image built (or found): tagged, said, counted.
  Result<BuildResult> announce(engine::Engine& e, const engine::ImageInfo& image) {
    for (const auto& tag : o_.tags) TRY(e.tag_image(image.id, tag));
    say("Successfully built {}", image.id.substr(0, 12));
    for (const auto& tag : o_.tags) say("Successfully tagged {}", tag);
    BuildResult out;
    out.image = image;
    out.steps = steps_;
    out.cached = cached_;
    out.ran = ran_;
    return out;
  }

  Result<Worker> open_worker(engine::Engine& e) const {
    return Worker{e, TRY(BuildCache::open(e.options().root + "/build-cache")),
        TRY(open_router({"dir://" + fs::absolute(e.options().root + "/blocks").string()}, true)), {}};
  }

  // Every needed stage on a thread of its own, each starting once the stages it depends on are
  // built: independent stages build at the same time. The first failure stops the others
  // between their steps.
  Result<void> build_stages() {
    enum class State { waiting, done, failed };
    std::vector<State> state(df_.stages.size(), State::waiting);
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Error> first;
    auto build_one = [&](size_t i) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock,
            [&] { return first || std::all_of(deps_[i].begin(), deps_[i].end(), [&](size_t d) { return state[d] == State::done; }); });
        if (first) {
          state[i] = State::failed;
          cv.notify_all();
          return;
        }
      }
      auto r = [&]() -> Result<void> {
        engine::Engine e = TRY(engine::Engine::open(e_.options()));
        Worker w = TRY(open_worker(e));
        return build_stage(w, i);
      }();
      std::lock_guard lock(mu);
      state[i] = r ? State::done : State::failed;
      if (!r && !first) {
        first = r.error();
        abort_ = true;
      }
      cv.notify_all();
    };
    std::vector<std::thread> threads;
    for (size_t i = 0; i < df_.stages.size(); ++i)
      if (needed_[i]) threads.emplace_back(build_one, i);
    for (auto& t : threads) t.join();
    if (first) return std::unexpected(*first);
    return {};
  }

  Result<void> check_stopped() const {
    TRY(check_interrupted(o_));
    if (abort_) return fail(Errc::unavailable, "stopped: another stage failed");
    return {};
  }

  void note(std::vector<std::string>& list, const std::string& id) {
    std::lock_guard lock(registry_mu_);
    list.push_back(id);
  }
  void forget(std::vector<std::string>& list, const std::string& id) {
    std::lock_guard lock(registry_mu_);
    std::erase(list, id);
  }

  // ARGs before the first FROM: their defaults, or the --build-arg given for them.
  Result<std::vector<std::string>> meta_arg_values() {
    std::vector<std::string> out;
    for (const auto& ins : df_.meta_args)
      for (const auto& kv : ins.pairs) {
        auto given = o_.build_args.find(kv.key);
        if (given != o_.build_args.end()) {
          out.push_back(kv.key + "=" + given->second);
        } else if (kv.has_value) {
          auto v = expand_word(kv.value, env_lookup(out), df_.directives.escape);
          if (!v) return std::unexpected(std::move(v.error()).context(where(ins)));
          out.push_back(kv.key + "=" + *v);
        }
      }
    return out;
  }

  std::string where(const Instruction& ins) const { return fmt::format("Dockerfile:{}: {}", ins.line, ins.original); }

  Result<size_t> target_stage() const {
    if (o_.target.empty()) return df_.stages.size() - 1;
    std::string t = o_.target;
    std::transform(t.begin(), t.end(), t.begin(), ::tolower);
    for (size_t i = 0; i < df_.stages.size(); ++i)
      if (df_.stages[i].name == t) return i;
    return fail(Errc::invalid_input, "target stage \"" + o_.target + "\" could not be found");
  }

  // The earlier stage a FROM or --from names (by name or index), if it names one.
  std::optional<size_t> stage_named(const std::string& ref, size_t before) const {
    std::string lower = ref;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    for (size_t i = 0; i < before; ++i)
      if (!df_.stages[i].name.empty() && df_.stages[i].name == lower) return i;
    if (auto n = parse_uint<size_t>(ref); n && *n < before) return *n;
    return std::nullopt;
  }

  Result<std::string> base_of(size_t i) {
    const Stage& s = df_.stages[i];
    return TRY_CTX(expand_word(s.base, env_lookup(meta_args_), df_.directives.escape), where(s.from));
  }

  // The stages `i` needs (its base, what it copies from), recorded in deps_, transitively.
  Result<void> mark_needed(size_t i) {
    if (needed_[i]) return {};
    needed_[i] = true;
    if (auto dep = stage_named(TRY(base_of(i)), i)) deps_[i].insert(*dep);
    for (const auto& ins : df_.stages[i].instructions)
      if (const Flag* from = ins.flag("from"); from && (ins.kind == Kind::copy || ins.kind == Kind::add)) {
        auto ref = expand_word(from->value, env_lookup(meta_args_), df_.directives.escape);
        if (!ref) return std::unexpected(std::move(ref.error()).context(where(ins)));
        if (auto dep = stage_named(*ref, i)) deps_[i].insert(*dep);
      }
    for (size_t d : deps_[i]) TRY(mark_needed(d));
    return {};
  }

  Result<void> build_stage(Worker& w, size_t i) {
    const Stage& s = df_.stages[i];
    StageState& st = stages_[i];
    std::string base = TRY(base_of(i));
    size_t number = first_step_[i];
    say("Step {}/{} : {}", number, total_, s.from.original);
    if (!o_.platform.empty() && o_.platform != "linux/amd64" && o_.platform != "linux/x86_64")
      return fail(Errc::unsupported, where(s.from) + ": only the host's platform (linux/amd64) can be built, not " + o_.platform);
    if (auto stage = stage_named(base, i)) {
      st = stages_[*stage];
      st.scope = StageScope{};
      st.key = chain(st.key, {"FROM stage"});
    } else if (base == "scratch") {
      st.key = chain(Hash{}, {"FROM scratch"});
      st.tree.nodes[Tree::kRoot].mode = S_IFDIR | 0755;
    } else {
      auto image = TRY_CTX(w.e.resolve_image(base, "missing"), where(s.from));
      if (!dry_) st.tree = TRY_CTX(load_flist(image.flist), "reading " + base);
      ++st.tree_version;
      st.config = TRY(w.e.image_config(image));
      st.key = chain(Hash{}, {"FROM", image.id});
      say(" ---> {}", image.id.substr(0, 12));
    }
    st.tree.tags.clear();
    st.tree.signatures.clear();
    st.tree.profile.clear();
    st.scope.cmd_from_base = true;
    if (!st.config.shell.empty()) st.scope.shell = st.config.shell;  // SHELL carries over from the base
    st.scope.meta_args = meta_args_;
    st.scope.build_args = o_.build_args;
    // The base's ONBUILD triggers run first, as instructions of this stage.
    std::vector<std::string> triggers = std::exchange(st.config.onbuild, {});
    for (const auto& text : triggers) {
      auto parsed = parse_dockerfile("FROM scratch\n" + text + "\n");
      if (!parsed || parsed->stages.front().instructions.size() != 1)
        return fail(Errc::invalid_input, where(s.from) + ": the base's ONBUILD trigger '" + text + "' does not parse");
      say("# Executing ONBUILD {}", text);
      TRY(step(w, i, st, parsed->stages.front().instructions.front()));
    }
    for (const auto& ins : s.instructions) {
      TRY(check_stopped());
      say("Step {}/{} : {}", ++number, total_, ins.original);
      TRY(step(w, i, st, ins));
    }
    st.built = true;
    return {};
  }

  VarLookup lookup(const StageState& st) const { return env_lookup(scope_env(st.scope, st.config)); }

  Result<void> step(Worker& w, size_t stage, StageState& st, const Instruction& ins) {
    ++steps_;
    std::string args = arg_values(st.scope);
    switch (ins.kind) {
      case Kind::run: return run_step(w, st, ins, args);
      case Kind::copy:
      case Kind::add: return copy_step(w, stage, st, ins, args);
      default: break;
    }
    auto changed = apply_config_step(ins, st.config, st.scope, df_.directives.escape);
    if (!changed) return std::unexpected(std::move(changed.error()).context(where(ins)));
    // WORKDIR makes its directory.
    if (changed->mkdir && !dry_) {
      auto layer = TRY_CTX(mkdir_layer(st.tree, *changed->mkdir, std::time(nullptr)), where(ins));
      st.tree = merge({st.tree, layer}, {});
      ++st.tree_version;
    }
    st.key = chain(st.key, {ins.original, args});
    return {};
  }

  // --- RUN ---------------------------------------------------------------------------------

  Result<void> run_step(Worker& w, StageState& st, const Instruction& ins, const std::string& args) {
    std::vector<std::string> argv = TRY_CTX(run_argv(ins, st.scope), where(ins));
    std::string network = o_.network;
    if (const Flag* n = ins.flag("network")) network = n->value == "default" ? o_.network : n->value;
    if (network != "none" && network != "host" && network != "bridge")
      return fail(Errc::invalid_input, where(ins) + ": --network " + network + ": say none, host or default");
    if (ins.flag("mount") || ins.flag("security"))
      return fail(Errc::unsupported, where(ins) + ": RUN --mount and --security are not supported by tiffin build yet");
    Hash key = chain(st.key, {"RUN", fmt::format("{}", fmt::join(argv, "\x1f")), args, network, st.config.user, st.config.workdir,
                                 fmt::format("{}", fmt::join(st.config.env, "\x1f"))});
    if (dry_) {  // planning: a build found whole never runs it; one that is not asks the cache then
      say(" ---> Using cache");
      ++cached_;
      st.key = key;
      return {};
    }
    std::optional<Tree> layer;
    if (!o_.no_cache) layer = TRY(w.cache.get(key));
    bool chained = false;  // the chain now ends with this RUN's upper directory
    if (layer) {
      say(" ---> Using cache");
      ++cached_;
    } else {
      layer = TRY(run_container(w, st, ins, argv, network, chained));
      TRY(w.cache.put(key, *layer));
      ++ran_;
    }
    st.tree = merge({st.tree, *layer}, {});
    settle_hardlinks(st.tree);
    ++st.tree_version;
    if (chained) st.chain->version = st.tree_version;
    st.key = key;
    say(" ---> {}", short_hex(key));
    return {};
  }

  Result<Tree> run_container(
      Worker& w, StageState& st, const Instruction& ins, const std::vector<std::string>& argv, const std::string& network, bool& chained) {
    // Over the RUNs just before it when nothing else changed the tree since: no image to save
    // and no new lazy mount for this step.
    if (!st.chain || st.chain->version != st.tree_version || st.chain->volumes != st.config.volumes ||
        st.chain->uppers.size() >= kMaxChainedRuns)
      st.chain = RunChain{TRY(intermediate_image(w, st)).id, {}, st.tree_version, st.config.volumes};
    engine::ContainerConfig c;
    c.image = st.chain->image;
    c.lower_dirs.assign(st.chain->uppers.rbegin(), st.chain->uppers.rend());
    c.entrypoint = std::vector<std::string>{};
    c.cmd = argv;
    c.env = run_env(st.scope, st.config);
    c.workdir = st.config.workdir;
    c.user = st.config.user;
    c.network = network;
    c.labels["tiffin.build"] = nonce_;
    std::string id = TRY_CTX(w.e.create(c), where(ins));
    note(containers_, id);
    say(" ---> Running in {}", id.substr(0, 12));
    engine::StartOptions so;
    so.attach = true;
    auto started = TRY_CTX(w.e.start(id, so), where(ins));
    int code = TRY_CTX(stream_output(w, *started.session), where(ins));
    if (code != 0)
      return fail(Errc::io, fmt::format("{}: the command '{}' returned a non-zero code: {}", where(ins), fmt::join(argv, " "), code));
    engine::ContainerInfo info = TRY(w.e.inspect(id));
    Tree layer = TRY_CTX(w.e.container_layer(info, st.tree), where(ins));
    // Its upper directory is the next RUN's top lower one (when nothing comes between).
    std::string kept = TRY(steps_dir()) + "/" + id.substr(0, 16);
    chained = static_cast<bool>(w.e.take_container_upper(info, kept));
    if (chained) st.chain->uppers.push_back(kept);
    TRY(w.e.remove(id, true));
    forget(containers_, id);
    return layer;
  }

  // <root>/build-steps/<pid>-<nonce>: the upper directories RUN chains stand on, removed with
  // the build; a build that died leaves its own, removed by the next build (its pid is gone).
  Result<std::string> steps_dir() {
    std::lock_guard lock(registry_mu_);
    if (!steps_dir_.empty()) return steps_dir_;
    std::string parent = e_.options().root + "/build-steps";
    std::error_code ec;
    fs::create_directories(parent, ec);
    for (const auto& entry : fs::directory_iterator(parent, ec)) {
      std::string name = entry.path().filename().string();
      auto pid = parse_uint<uint32_t>(std::string_view(name).substr(0, name.find('-')));
      if (pid && *pid != 0 && ::kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH) (void)remove_tree(entry.path().string());
    }
    std::string dir = parent + "/" + std::to_string(::getpid()) + "-" + nonce_;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + dir);
    steps_dir_ = dir;
    return dir;
  }

  Result<int> stream_output(Worker& w, engine::ShimConnection& session) {
    for (;;) {
      TRY(check_stopped());
      if (!session.has_buffered()) {
        pollfd p{session.fd(), POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;  // a timeout or a signal: look at the flag again
      }
      shim::Message m = TRY(session.receive());
      if (auto* out = std::get_if<shim::Output>(&m)) {
        std::string_view data = out->data;
        // Line by line, so the progress callback sees whole lines.
        w.run_output += data;
        size_t nl;
        while ((nl = w.run_output.find('\n')) != std::string::npos) {
          say("{}", w.run_output.substr(0, nl));
          w.run_output.erase(0, nl + 1);
        }
      } else if (auto* exited = std::get_if<shim::Exited>(&m)) {
        if (!w.run_output.empty()) say("{}", std::exchange(w.run_output, {}));
        return exited->exit_code;
      } else if (auto* failed = std::get_if<shim::Failed>(&m)) {
        return std::unexpected(failed->error);
      }
    }
  }

  // The stage's tree as an image a container can start from: unique to this build (a tag
  // names it), removed when the build ends.
  Result<engine::ImageInfo> intermediate_image(Worker& w, const StageState& st) {
    Tree t = st.tree;
    t.config = st.config;
    t.config->onbuild.clear();
    t.tags["tiffin.build"] = nonce_ + "-" + to_hex(st.key);
    t.routes = merged_routes(w, t);
    auto info = w.e.add_image_tree(t, "build " + nonce_, "");
    if (info) note(intermediates_, info->id);
    return info;
  }

  // The node's store for what the build packs, with the routes the trees already had.
  static std::vector<Route> merged_routes(const Worker& w, const Tree& t) {
    std::vector<Route> out = t.routes;
    for (const auto& r : w.store->routes())
      if (std::none_of(out.begin(), out.end(), [&](const Route& x) { return x.url == r.url && x.start == r.start && x.end == r.end; }))
        out.push_back(r);
    return out;
  }

  // --- COPY and ADD ------------------------------------------------------------------------

  Result<void> copy_step(Worker& w, size_t stage, StageState& st, const Instruction& ins, const std::string& args) {
    auto lk = lookup(st);
    char esc = df_.directives.escape;
    CopyRequest r;
    r.now = std::time(nullptr);
    for (const auto& f : ins.flags) {
      if (f.name == "from" || f.name == "chown" || f.name == "chmod" || f.name == "link" || f.name == "exclude") continue;
      return fail(Errc::unsupported, where(ins) + ": --" + f.name + " is not supported by tiffin build yet");
    }
    std::vector<std::string> sources;
    std::vector<std::pair<std::string, std::string>> heredocs;  // name, content
    for (const auto& s : ins.sources()) {
      if (const Heredoc* h = ins.heredoc_for(s)) {
        heredocs.emplace_back(h->name, TRY_CTX(heredoc_content(*h, lk), where(ins)));
        continue;
      }
      sources.push_back(ins.exec_form ? s : TRY_CTX(expand_word(s, lk, esc), where(ins)));
    }
    std::string dest = ins.exec_form ? ins.destination() : TRY_CTX(expand_word(ins.destination(), lk, esc), where(ins));
    if (!dest.starts_with('/')) dest = (st.config.workdir.empty() ? std::string("/") : st.config.workdir + "/") + dest;
    r.dest = dest;
    std::string chmod, chown;
    if (const Flag* c = ins.flag("chmod")) {
      chmod = TRY_CTX(expand_word(c->value, lk, esc), where(ins));
      auto mode = parse_uint<uint32_t>(chmod, 8);
      if (!mode || *mode > 07777) return fail(Errc::invalid_input, where(ins) + ": --chmod=" + chmod + ": not an octal mode");
      r.chmod = *mode;
    }
    if (const Flag* c = ins.flag("chown")) chown = TRY_CTX(expand_word(c->value, lk, esc), where(ins));

    // The key: the instruction as expanded, and what it copies — the context's files by their
    // digest, a stage by its key, an image by its id: nothing that needs this stage's tree.
    const Tree* from = nullptr;
    std::string source_id;
    std::optional<size_t> from_stage;
    if (const Flag* f = ins.flag("from")) {
      std::string ref = TRY_CTX(expand_word(f->value, lk, esc), where(ins));
      r.from_context = false;
      from_stage = stage_named(ref, stage);
      if (from_stage) {
        source_id = "stage " + to_hex(stages_[*from_stage].key);
        if (!dry_) from = &stages_[*from_stage].tree;
      } else {
        from = TRY_CTX(tree_of(w, ref, stage), where(ins));
        source_id = "image " + ref;
      }
    } else if (!sources.empty()) {
      from = TRY(context(w));
      if (ins.kind == Kind::add) TRY(check_add_sources(ins, sources));
    }
    if (from && !sources.empty()) {
      Hash digest = TRY_CTX(sources_digest(*from, sources), where(ins));
      source_id += to_hex(digest);
    }
    std::string heredoc_text;
    for (const auto& [name, content] : heredocs) heredoc_text += name + "\n" + content + "\n";
    Hash key =
        chain(st.key, {ins.original, args, fmt::format("{}", fmt::join(sources, "\x1f")), dest, chmod, chown, source_id, heredoc_text});
    if (dry_) {
      st.key = key;
      say(" ---> {}", short_hex(key));
      return {};
    }

    if (!chown.empty()) {
      auto user = TRY_CTX(chown_ids(w, st.tree, chown), where(ins));
      r.uid = user.first;
      r.gid = user.second;
    }
    Tree layer;
    if (!heredocs.empty()) {
      Tree files = TRY_CTX(heredoc_files(w, heredocs), where(ins));
      CopyRequest hr = r;
      for (const auto& [name, content] : heredocs) hr.sources.push_back(name);
      layer = TRY_CTX(copy_layer(files, hr, st.tree), where(ins));
    }
    if (!sources.empty()) {
      r.sources = sources;
      Tree copied = TRY_CTX(copy_layer(*from, r, st.tree), where(ins));
      if (ins.kind == Kind::add && r.from_context) copied = TRY_CTX(extract_tars(w, *from, r, st.tree, copied), where(ins));
      layer = layer.nodes[Tree::kRoot].children.empty() ? std::move(copied) : merge({layer, copied}, {});
    }
    st.key = key;
    Tree merged = merge({st.tree, layer}, {});
    merged.routes = merged_routes(w, merged);
    st.tree = std::move(merged);
    ++st.tree_version;
    settle_hardlinks(st.tree);
    say(" ---> {}", short_hex(st.key));
    return {};
  }

  // A COPY heredoc's text: expanded unless its delimiter was quoted (buildkit's heredoc switches).
  Result<std::string> heredoc_content(const Heredoc& h, const VarLookup& lk) const {
    if (!h.expand) return h.content;
    ShellLexer lexer{df_.directives.escape};
    lexer.raw_quotes = lexer.raw_escapes = lexer.skip_process_quotes = true;
    return TRY(lexer.process(h.content, lk)).word;
  }

  // The heredocs as files of a tree (their blocks stored), for copy_layer.
  Result<Tree> heredoc_files(Worker& w, const std::vector<std::pair<std::string, std::string>>& heredocs) {
    Tree into;
    BlockWriter writer(*w.store, 1, nullptr);
    for (const auto& [name, content] : heredocs) {
      Node n;
      n.name = name;
      n.mode = S_IFREG | 0644;
      n.mtime = n.ctime = std::time(nullptr);
      n.size = content.size();
      size_t idx = into.put(Tree::kRoot, std::move(n));
      for (size_t off = 0, i = 0; off < content.size(); off += kBlockSize, ++i) {
        std::string_view part = std::string_view(content).substr(off, kBlockSize);
        writer.submit(idx, i, Bytes(part.begin(), part.end()));
      }
    }
    PackStats stats;
    TRY(writer.finish(into, stats));
    return into;
  }

  // ADD's sources in the context are local files (a URL or git repository needs the network).
  Result<void> check_add_sources(const Instruction& ins, const std::vector<std::string>& sources) {
    for (const auto& s : sources)
      if (s.find("://") != std::string::npos || s.starts_with("git@"))
        return fail(Errc::unsupported, where(ins) + ": ADD of a URL or git repository (" + s + ") is not supported by tiffin build yet");
    return {};
  }

  // ADD: a local tar archive (plain, gzip, bzip2, xz or zstd) is extracted into the
  // destination directory instead of copied.
  Result<Tree> extract_tars(Worker& w, const Tree& from, const CopyRequest& r, const Tree& below, Tree copied) {
    std::string dir = clean_absolute(r.dest);
    if (!dir.ends_with('/')) dir += '/';
    for (const auto& source : r.sources) {
      auto at = from.find("/" + source);
      if (!at || !from.nodes[*at].is_reg()) continue;
      std::string host = (fs::path(o_.context) / source).string();
      UniqueFd fd(::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd || !looks_like_archive(fd.get())) continue;
      Tree archive;
      TRY_CTX(pack_tar(fd.get(), source, *w.store, archive, {0, false, nullptr}), "extracting " + source);
      // The copy of the archive itself goes: at <dest>/<name>, or at <dest> when that named a file.
      for (const std::string& p : {dir + from.nodes[*at].name, dir.substr(0, dir.size() - 1)})
        if (auto f = copied.find(p); f && copied.nodes[*f].is_reg()) copied.remove(copied.nodes[*f].parent, copied.nodes[*f].name);
      CopyRequest into = r;
      into.sources = {"."};
      into.dest = dir;
      into.from_context = false;
      if (!r.uid) into.uid = into.gid = std::nullopt;  // an archive's entries keep their owners
      copied = merge({copied, TRY(copy_layer(archive, into, below))}, {});
    }
    return copied;
  }

  static bool looks_like_archive(int fd) {
    uint8_t head[512] = {};
    ssize_t n = ::pread(fd, head, sizeof head, 0);
    auto starts = [&](std::initializer_list<uint8_t> magic) {
      return n >= ssize_t(magic.size()) && std::equal(magic.begin(), magic.end(), head);
    };
    if (starts({0x1f, 0x8b}) || starts({'B', 'Z', 'h'}) || starts({0xfd, '7', 'z', 'X', 'Z', 0}) || starts({0x28, 0xb5, 0x2f, 0xfd}))
      return true;
    return n == 512 && std::memcmp(head + 257, "ustar", 5) == 0;
  }

  Result<std::pair<uint32_t, uint32_t>> chown_ids(const Worker& w, const Tree& tree, const std::string& spec) {
    auto read = [&](const char* path) -> std::string {
      auto at = tree.find(path);
      if (!at || !tree.nodes[*at].is_reg()) return {};
      auto router = open_routes(merged_routes(w, tree));
      if (!router) return {};
      auto data = read_content(tree.nodes[*at], **router, 4 << 20);
      return data ? std::string(data->begin(), data->end()) : std::string();
    };
    std::string user = spec.substr(0, spec.find(':'));
    std::string group = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
    auto resolved = TRY(engine::resolve_user(user, read("/etc/passwd"), read("/etc/group")));
    uint32_t gid = resolved.gid;
    if (!group.empty()) {
      auto g = TRY(engine::resolve_user("0:" + group, "root:x:0:0::/:/bin/sh\n", read("/etc/group")));
      gid = g.gid;
    }
    return std::pair{resolved.uid, gid};
  }

  // The tree COPY --from reads: an earlier stage's, or an image's.
  Result<const Tree*> tree_of(Worker& w, const std::string& ref, size_t stage) {
    if (auto s = stage_named(ref, stage)) {
      if (!stages_[*s].built) return fail(Errc::internal, "stage " + ref + " was not built");
      return &stages_[*s].tree;
    }
    std::lock_guard lock(images_mu_);  // held while pulling: one pull of an image per build
    if (auto it = images_.find(ref); it != images_.end()) return &it->second;
    auto image = TRY(w.e.resolve_image(ref, "missing"));
    Tree t = TRY_CTX(load_flist(image.flist), "reading " + ref);
    return &images_.emplace(ref, std::move(t)).first->second;
  }

  // Packed by the first stage that copies from it; the others wait for that.
  Result<const Tree*> context(Worker& w) {
    std::lock_guard lock(context_mu_);
    if (!context_) context_ = TRY(pack_context(o_.context, *w.store));
    return &*context_;
  }

  // --- the image ---------------------------------------------------------------------------

  Result<BuildResult> finish(Worker& w, StageState& st) {
    Tree t = std::move(st.tree);
    for (const auto& [k, v] : o_.labels) st.config.labels[k] = v;
    t.config = st.config;
    t.routes = merged_routes(w, t);
    t.tags.clear();
    auto info = TRY(e_.add_image_tree(t, "build", ""));
    forget(intermediates_, info.id);
    return announce(e_, info);
  }

  engine::Engine& e_;  // the caller's: the final image, and the clean-up
  const BuildOptions& o_;
  Dockerfile df_;
  std::string nonce_;
  std::vector<std::string> meta_args_;
  std::vector<bool> needed_;
  std::vector<std::set<size_t>> deps_;
  std::vector<StageState> stages_;  // each written only by its stage's thread
  std::mutex context_mu_, images_mu_, registry_mu_, say_mu_;
  std::optional<Tree> context_;
  std::map<std::string, Tree> images_;
  std::vector<std::string> containers_, intermediates_;
  std::string steps_dir_;  // steps_dir()
  std::atomic<bool> abort_ = false;
  std::vector<size_t> first_step_;                // each stage's FROM's step number
  bool dry_ = false;                              // the planning pass: keys only (plan())
  std::optional<std::vector<std::string>> held_;  // the planning pass's lines, until it is known whether they stand
  std::atomic<size_t> steps_ = 0, cached_ = 0, ran_ = 0;
  size_t total_ = 0;
};

}  // namespace

Result<BuildResult> build_image(engine::Engine& engine, const BuildOptions& o) {
  std::string dockerfile = o.dockerfile.empty() ? (fs::path(o.context) / "Dockerfile").string() : o.dockerfile;
  std::error_code ec;
  if (!fs::is_directory(o.context, ec)) return fail(Errc::invalid_input, "the build context " + o.context + " is not a directory");
  Bytes text = TRY_CTX(read_file(dockerfile, 16 << 20), "reading " + dockerfile);
  Dockerfile df = TRY(parse_dockerfile(std::string_view(reinterpret_cast<const char*>(text.data()), text.size())));
  if (o.network != "bridge" && o.network != "none" && o.network != "host")
    return fail(Errc::invalid_input, "--network " + o.network + ": say bridge, none or host");
  InterruptGuard interrupts(o.handle_signals);
  Build b(engine, o, std::move(df));
  return b.run();
}

}  // namespace tiffin::build
