// The rank-collapse study (docs/tasks.md, examples/common/rank_collapse.h): per-layer
// relative residual, mean cosine similarity and query-weight gradient norm of deep stacks of
// softmax attention and of daGPAM, at initialisation, in a pure-attention stack and in pre-norm
// Transformer blocks. Prints the table and writes into --out:
//   table.md, results.csv, residual.svg, cosine.svg, query_grad.svg, config.json
//
//   build/bin/rank_collapse                          # 12 layers, d 64, 4 heads, T 32, B 8, 5 seeds
//   build/bin/rank_collapse --layers 24 --lam 0.2 0.5 1.0
#include <cstdio>
#include <iostream>
#include "autograd/parallel.h"
#include "examples/common/cli.h"
#include "examples/common/rank_collapse.h"
#include "examples/common/run_dir.h"
#include "examples/common/svg.h"

using namespace dl;

int main(int argc, char** argv) {
  RankCollapseConfig config;
  std::vector<double> lams = {0.2};
  cli::CommonFlags flags;
  flags.out = "runs/rank_collapse";

  CLI::App app("Rank collapse at depth: softmax attention vs daGPAM, at initialisation");
  app.add_option("--layers", config.layers, "attention layers in the stack")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--d", config.d, "model width")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--heads", config.heads, "attention heads (must divide d)")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--T", config.T, "tokens per sequence")->capture_default_str()->check(CLI::Range(2, 4096));
  app.add_option("--B", config.B, "sequences per batch")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--seeds", config.seeds, "seeds to average over")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--seed", config.first_seed, "first seed")->capture_default_str();
  app.add_option("--lam", lams, "daGPAM's fixed lam; several values give one model each")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  app.add_option("--out", flags.out, "folder for the table, CSV and plots")->capture_default_str();
  app.add_option("--threads", flags.threads, "threads (0: DL_NUM_THREADS, else all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cli::parse_or_exit(app, flags, argc, argv);
  if (config.d % config.heads != 0) {
    std::fprintf(stderr, "--heads %lld must divide --d %lld\n", static_cast<long long>(config.heads),
                 static_cast<long long>(config.d));
    return 2;
  }

  try {
    RunDir run(flags.out);
    nlohmann::json flags_json = cli::flags_json(app);
    flags_json["lam"] = lams;  // a list, which flags_json would keep as its text
    run.write_json("config.json", flags_json);
    std::printf("rank collapse: %lld layers, d %lld, %lld heads, T %lld, B %lld, %d seeds, %d threads\n\n",
                static_cast<long long>(config.layers), static_cast<long long>(config.d),
                static_cast<long long>(config.heads), static_cast<long long>(config.T),
                static_cast<long long>(config.B), config.seeds, num_threads());
    const std::vector<StudyCurves> curves = rank_collapse_study(config, study_models(config.heads, lams));
    const std::string table = rank_collapse_markdown(curves);
    std::cout << table;
    write_file_atomic(run.file("table.md"), table);
    write_file_atomic(run.file("results.csv"), rank_collapse_csv(curves));
    for (const auto& [stem, svg] : rank_collapse_plots(curves)) plot::save_svg(run.file(stem + ".svg"), svg);
    std::printf("wrote table.md, results.csv, residual.svg, cosine.svg, query_grad.svg to %s\n", flags.out.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
