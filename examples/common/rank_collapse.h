// The rank-collapse study (docs/tasks.md): how fast a deep stack of attention layers maps its
// T tokens onto one vector, for softmax attention and for daGPAM, at initialisation.
//
// Per seed: random tokens X_0 (B, T, d) ~ N(0, 1) go through L layers, X_l = layer_l(X_{l-1}).
// For every X_l we record the relative residual ||X - 1 mean_rows(X)||_F / ||X||_F and the mean
// pairwise cosine similarity of its rows (nn/diagnostics.h, averaged over the batch); then the
// scalar loss sum(R * out), R (B, T, d) ~ N(0, 1) a fixed random weighting of the output, is
// back-propagated and each layer's query weight gradient ||dL/dWq||_F is recorded. The seed fixes
// X_0 and R before the model is built, so every model of a seed sees the same input and loss.
//
// Two settings:
//   Pure:    X_l = SA(X_l-1): no residual, no FFN, no norm, no biases, every attention weight
//            ~ N(0, 1/d) so that Wv Wo keeps the scale (with PyTorch's Linear default each layer
//            would shrink X about 9x, the logits would vanish and any attention would average
//            the tokens in a few layers). The textbook case of Dong et al. (2021).
//   PreNorm: full pre-norm Transformer blocks (models/blocks.h, d_ff = 4d GELU, no dropout,
//            the models' own initialisation); out is the stack's final LayerNorm of X_L.
// Everything runs in float64: the pure stack takes the residual below 1e-7 within a few layers,
// where float32 would measure its own rounding. daGPAM's wneg keeps its -I plus noise start in
// both settings. A trainable lam equals the fixed
// one at initialisation, so this study needs only the fixed lam (one model per value).
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "models/config.h"

namespace dl {

enum class StackKind { Pure, PreNorm };
const char* stack_title(StackKind stack);  // for tables and plots

struct RankCollapseConfig {
  int64_t layers = 12, d = 64, heads = 4, T = 32, B = 8;
  int seeds = 5;
  uint64_t first_seed = 0;  // seeds first_seed, first_seed + 1, ...
};

// One model of the study: its name in tables and legends, and its attention.
struct StudyModel {
  std::string name;
  AttentionConfig attention;
};
// "softmax" (standard attention), then "daGPAM lam=<v>" for each v, all with `heads` heads.
std::vector<StudyModel> study_models(int64_t heads, const std::vector<double>& lams);

// One value per layer: index 0 is the input X_0, index l the output of layer l. query_grad[0]
// is NaN (the input has no query weight).
struct LayerStats {
  std::vector<double> residual, cosine, query_grad;
};

// One seed's statistics of one model in one setting.
LayerStats measure_stack(const RankCollapseConfig& config, StackKind stack, const AttentionConfig& attention,
                         uint64_t seed);

// Mean and standard deviation (over seeds, n - 1; 0 for one seed) of every statistic per layer.
struct StudyCurves {
  std::string model;
  StackKind stack;
  LayerStats mean, std;
};
StudyCurves rank_collapse_curves(const RankCollapseConfig& config, StackKind stack, const StudyModel& model);

// Every setting x model of the study, setting by setting.
std::vector<StudyCurves> rank_collapse_study(const RankCollapseConfig& config, const std::vector<StudyModel>& models);

// A markdown table per setting (one row per layer, a column per statistic and model).
std::string rank_collapse_markdown(const std::vector<StudyCurves>& curves);
// Long format: setting,model,layer,<statistic>_mean,<statistic>_std,...; an empty field for NaN.
std::string rank_collapse_csv(const std::vector<StudyCurves>& curves);
// One SVG figure per statistic ("residual", "cosine", "query_grad"), a panel per setting and a
// line per model with a +-1 std band over seeds (log10 of the mean without a band where the pure
// stack spans orders of magnitude); pairs of (file stem, svg text).
std::vector<std::pair<std::string, std::string>> rank_collapse_plots(const std::vector<StudyCurves>& curves);

}  // namespace dl
