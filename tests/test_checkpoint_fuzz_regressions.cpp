// Inputs that broke (or were found to threaten) the checkpoint and config loaders, each kept as a
// test: every one must be refused with a dl::Error naming the loader, with no crash, no other
// exception type and no undefined behaviour (make sanitize).
#include "tests/testing.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include "models/checkpoint.h"
#include "models/lm.h"
#include "nn/checkpoint.h"
#include "tests/fuzz/corpus_models.h"

using namespace dl;

namespace {

// A scratch file holding the 8-byte little-endian header length, the header, then data.
struct File {
  explicit File(const std::string& header, const std::string& data = "")
      : path("/tmp/dl_fuzz_regression." + std::to_string(getpid())) {
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header << data;
  }
  ~File() { std::remove(path.c_str()); }
  std::string path;
};

// Runs f in a forked child, so that a crash fails this test instead of ending the test run.
// Passes when f returns or throws dl::Error; the alarm turns a hang into a failure too.
void require_survives(const std::function<void()>& f) {
  const pid_t pid = fork();
  if (pid == 0) {
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) signal(sig, SIG_DFL);  // not Catch2's report
    alarm(60);
    int code = 0;
    try {
      f();
    } catch (const Error&) {
    } catch (...) {
      code = 2;
    }
    _exit(code);
  }
  REQUIRE(pid > 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("child " << (WIFSIGNALED(status) ? "killed by signal " : "exited with status ")
                << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)));
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("checkpoint regressions: deeply nested JSON is refused without recursion", "[checkpoint][fuzz]") {
  // Printing a value nested a million deep in an error message recursed once per level and
  // overflowed the stack; the header's nesting is now limited while it is parsed.
  const size_t depth = 1000000;
  File tensor_value("{\"w\":" + repeat("[", depth) + repeat("]", depth) + "}");
  REQUIRE_THROWS_WITH(read_safetensors(tensor_value.path),
                      Catch::Contains("read_safetensors") && Catch::Contains(tensor_value.path) &&
                          Catch::Contains("nested"));
  File metadata("{\"__metadata__\":{\"k\":" + repeat("{\"a\":", depth) + "1" + repeat("}", depth) + "}}");
  REQUIRE_THROWS_WITH(read_safetensors(metadata.path), Catch::Contains("nested"));
}

// A model checkpoint of a tiny LM whose stored config (metadata "config") is replaced.
struct LMFile {
  LMFile() : lm(config(), gen), file("{}") {
    save_model(file.path, lm);
    st = read_safetensors(file.path);
  }
  static LMConfig config() { return fuzz::tiny_lm(); }  // the corpus's LM
  void store_config(const std::string& text) {
    st.metadata["config"] = text;
    write_safetensors(file.path, st.tensors, st.metadata);
  }
  Generator gen{0};
  CausalLM lm;
  File file;
  SafeTensors st;
};

TEST_CASE("checkpoint regressions: a stored model config that is not a JSON object", "[checkpoint][fuzz]") {
  // Found by fuzz_safetensors: comparing the stored config "5" with the live one threw
  // std::out_of_range (a JSON pointer "" has no first character to drop), not a dl::Error.
  LMFile m;
  for (const char* config : {"5", "[]", "\"lm\"", "null"}) {
    INFO("stored config " << config);
    m.store_config(config);
    REQUIRE_THROWS_WITH(load_model_into(m.file.path, m.lm), Catch::Contains("load_model") && Catch::Contains(m.file.path));
  }
}

TEST_CASE("checkpoint regressions: a deeply nested stored model config", "[checkpoint][fuzz]") {
  // Comparing a stored config nested a million deep with the live one (flatten, dump) recursed
  // once per level and overflowed the stack. Run in a child process: a crash must fail only this.
  LMFile m;
  m.store_config(repeat("{\"a\":", 1000000) + "1" + repeat("}", 1000000));
  require_survives([&] { load_model_into(m.file.path, m.lm); });
}

TEST_CASE("config regressions: head counts whose sum overflows", "[checkpoint][fuzz]") {
  // Found by fuzz_config: n_sa + n_ra was computed before either was bounded, a signed overflow
  // (undefined behaviour, reported by make sanitize) on the way to the error.
  const auto j = nlohmann::json::parse(
      R"({"block": {"attention": {"kind": "dual", "n_sa": 9223372036854775807, "n_ra": 1}}})");
  require_survives([&] { j.get<LMConfig>(); });  // first in a child: UBSan aborts the process
  REQUIRE_THROWS_WITH(j.get<LMConfig>(), Catch::Contains("AttentionConfig"));
}

TEST_CASE("checkpoint regressions: every broken seed of the fuzz corpus is refused, every good one reads",
          "[checkpoint][fuzz]") {
  // The seeds (tests/fuzz/make_corpus.cpp) start the fuzzer off from the format's edges; each
  // broken one must stay an error of the loader, each good one a file it reads.
  const std::string dir = "tests/fuzz/corpus/safetensors/";
  Generator gen(0);
  fuzz::Net net(gen);
  Adam opt(net.named_parameters(), AdamOptions{});
  CausalLM lm(fuzz::tiny_lm(), gen);
  int seeds = 0;
  DIR* d = opendir(dir.c_str());
  REQUIRE(d != nullptr);  // make test runs from the repository's root
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() < 12 || name.compare(name.size() - 12, 12, ".safetensors") != 0) continue;
    ++seeds;
    INFO("seed " << name);
    const auto refused = [&](const std::function<void()>& load) {
      try {
        load();
      } catch (const Error&) {
        return true;
      }
      return false;
    };
    const bool read = !refused([&] { read_safetensors(dir + name); });
    const bool as_checkpoint = !refused([&] { load_checkpoint(dir + name, net, &opt); });
    const bool as_model = !refused([&] { load_model_into(dir + name, lm); });
    if (name.rfind("broken_", 0) == 0) REQUIRE_FALSE((as_checkpoint || as_model));
    else REQUIRE(read);
  }
  closedir(d);
  REQUIRE(seeds >= 30);
}
