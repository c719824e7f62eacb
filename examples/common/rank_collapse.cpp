#include "examples/common/rank_collapse.h"

#include <cmath>
#include <cstdio>
#include "examples/common/svg.h"
#include "models/blocks.h"
#include "nn/diagnostics.h"
#include "nn/init.h"
#include "ops/ops.h"

namespace dl {

const char* stack_title(StackKind stack) {
  return stack == StackKind::Pure ? "pure attention (no residual, FFN or norm)" : "pre-norm Transformer blocks";
}

std::vector<StudyModel> study_models(int64_t heads, const std::vector<double>& lams) {
  AttentionConfig softmax;
  softmax.heads = heads;
  std::vector<StudyModel> models = {{"softmax", softmax}};
  for (double lam : lams) {
    AttentionConfig gpam = softmax;
    gpam.kind = "gpam";
    gpam.lam = lam;
    char name[48];
    std::snprintf(name, sizeof name, "daGPAM lam=%g", lam);
    models.push_back({name, gpam});
  }
  return models;
}

namespace {

// The pure setting's weights: N(0, 1/fan_in) for wq, wk, wv, wo and no biases; wneg stays.
void scale_preserving_init(const Module& attention, Generator& gen) {
  for (auto [name, p] : attention.named_parameters()) {
    const bool is_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (is_weight) init::normal_(p, gen, 0.0, 1.0 / std::sqrt(static_cast<double>(p.size(1))));
    if (is_bias) p.fill_(0.0);
  }
}

double frobenius(const Tensor& t) {
  double s = 0;
  for (double v : t.to_vector()) s += v * v;
  return std::sqrt(s);
}

// The L layers of one setting, as one Module so that two stacks can share weights by name.
class StudyStack : public Module {
 public:
  StudyStack(StackKind kind, const RankCollapseConfig& c, const AttentionConfig& attention, Generator& gen) {
    if (kind == StackKind::Pure) {
      for (int64_t l = 0; l < c.layers; ++l) {
        pure_.emplace_back(attention, AttentionSite{c.d, l, DType::F32}, nullptr, gen);
        scale_preserving_init(*register_module(std::to_string(l), pure_.back().module()), gen);
      }
      return;
    }
    BlockConfig block;
    block.d = c.d;
    block.d_ff = 4 * c.d;
    block.ffn = FFNKind::GELU;
    block.dropout = 0.0;
    block.attention = attention;
    blocks_ = register_module("stack", std::make_shared<EncoderStack>(block, c.layers, nullptr, gen));
  }

  // X_0 (B, T, d) -> X_0 .. X_L; out is what the loss reads (B, T, d).
  std::vector<Tensor> forward(const Tensor& x, Tensor& out) const {
    std::vector<Tensor> xs = {x};
    if (blocks_) {
      for (const auto& b : *blocks_->blocks) xs.push_back(b->forward(xs.back()));
      out = blocks_->norm->forward(xs.back());
    } else {
      for (const SelfAttention& layer : pure_) xs.push_back(layer.forward(xs.back(), {}));
      out = xs.back();
    }
    return xs;
  }

  Tensor query_weight(int64_t l) const {
    const std::string name = blocks_ ? "stack.blocks." + std::to_string(l) + ".self_attn.wq.weight"
                                     : std::to_string(l) + ".wq.weight";
    return state_dict().at(name);
  }

  // Copies every parameter of `from` that this stack has under the same name.
  void copy_shared(const StudyStack& from) {
    const auto theirs = from.state_dict();
    for (auto [name, p] : named_parameters())
      if (theirs.count(name)) p.copy_(theirs.at(name));
  }

 private:
  std::vector<SelfAttention> pure_;         // the pure setting
  std::shared_ptr<EncoderStack> blocks_;    // the pre-norm setting
};

}  // namespace

LayerStats measure_stack(const RankCollapseConfig& c, StackKind stack, const AttentionConfig& attention,
                         uint64_t seed) {
  Generator gen(seed);
  Tensor x = randn({c.B, c.T, c.d}, gen, 0.0, 1.0, DType::F64);  // (B, T, d)
  Tensor r = randn({c.B, c.T, c.d}, gen, 0.0, 1.0, DType::F64);  // (B, T, d), the loss weighting
  Generator softmax_gen = gen;  // the state the softmax stack of this seed is built from
  StudyStack model(stack, c, attention, gen);
  if (attention.kind != "standard") {
    // Paired comparison: the softmax stack's very weights (wneg, theta are extra), so a
    // difference comes from the attention, not from another draw of the other weights.
    AttentionConfig softmax;
    softmax.heads = attention.heads;
    model.copy_shared(StudyStack(stack, c, softmax, softmax_gen));
  }
  model.to(DType::F64);
  Tensor out;  // (B, T, d)
  const std::vector<Tensor> xs = model.forward(x, out);  // X_0 .. X_L, each (B, T, d)
  sum(out * r).backward();

  LayerStats s;
  for (size_t l = 0; l < xs.size(); ++l) {
    s.residual.push_back(relative_residual(xs[l]));
    s.cosine.push_back(mean_cosine_similarity(xs[l]));
    s.query_grad.push_back(l == 0 ? NAN : frobenius(model.query_weight(static_cast<int64_t>(l) - 1).grad()));
  }
  return s;
}

namespace {

// Per layer mean and std (n - 1) of one statistic over the seeds' runs.
void mean_std(const std::vector<std::vector<double>>& runs, std::vector<double>& mean, std::vector<double>& sd) {
  const size_t n = runs.size(), L = runs[0].size();
  mean.assign(L, 0.0);
  sd.assign(L, 0.0);
  for (size_t l = 0; l < L; ++l) {
    for (const auto& run : runs) mean[l] += run[l] / static_cast<double>(n);
    if (n < 2) continue;
    for (const auto& run : runs) sd[l] += (run[l] - mean[l]) * (run[l] - mean[l]);
    sd[l] = std::sqrt(sd[l] / static_cast<double>(n - 1));
  }
}

}  // namespace

StudyCurves rank_collapse_curves(const RankCollapseConfig& c, StackKind stack, const StudyModel& model) {
  DL_CHECK(c.layers >= 1 && c.T >= 2 && c.B >= 1 && c.seeds >= 1, "rank_collapse",
           "needs layers >= 1, T >= 2, B >= 1 and seeds >= 1, got layers " + std::to_string(c.layers) + ", T " +
               std::to_string(c.T) + ", B " + std::to_string(c.B) + ", seeds " + std::to_string(c.seeds));
  std::vector<std::vector<double>> residual, cosine, grad;
  for (int s = 0; s < c.seeds; ++s) {
    LayerStats run = measure_stack(c, stack, model.attention, c.first_seed + static_cast<uint64_t>(s));
    residual.push_back(run.residual);
    cosine.push_back(run.cosine);
    grad.push_back(run.query_grad);
  }
  StudyCurves out{model.name, stack, {}, {}};
  mean_std(residual, out.mean.residual, out.std.residual);
  mean_std(cosine, out.mean.cosine, out.std.cosine);
  mean_std(grad, out.mean.query_grad, out.std.query_grad);
  return out;
}

std::vector<StudyCurves> rank_collapse_study(const RankCollapseConfig& c, const std::vector<StudyModel>& models) {
  std::vector<StudyCurves> out;
  for (StackKind stack : {StackKind::Pure, StackKind::PreNorm})
    for (const StudyModel& m : models) out.push_back(rank_collapse_curves(c, stack, m));
  return out;
}

namespace {

struct Statistic {
  const char* key;    // CSV column and file stem
  const char* title;  // table header and plot axis
  std::vector<double> LayerStats::*values;
  bool log_when_pure;  // the pure stack takes it down by orders of magnitude: plot log10
};

const Statistic kStatistics[] = {
    {"residual", "relative residual", &LayerStats::residual, true},
    {"cosine", "mean cosine similarity", &LayerStats::cosine, false},
    {"query_grad", "query weight grad norm", &LayerStats::query_grad, true},
};

std::string number(double v, const char* missing) {
  if (!std::isfinite(v)) return missing;
  char s[32];
  std::snprintf(s, sizeof s, "%.4g", v);
  return s;
}

std::vector<const StudyCurves*> of_stack(const std::vector<StudyCurves>& curves, StackKind stack) {
  std::vector<const StudyCurves*> out;
  for (const StudyCurves& c : curves)
    if (c.stack == stack) out.push_back(&c);
  return out;
}

}  // namespace

std::string rank_collapse_markdown(const std::vector<StudyCurves>& curves) {
  std::string md;
  for (StackKind stack : {StackKind::Pure, StackKind::PreNorm}) {
    const auto cs = of_stack(curves, stack);
    if (cs.empty()) continue;
    std::string header = "| layer |", rule = "|---:|";
    for (const Statistic& st : kStatistics)
      for (const StudyCurves* c : cs) {
        header += " " + std::string(st.title) + ", " + c->model + " |";
        rule += "---:|";
      }
    md += "### " + std::string(stack_title(stack)) + "\n\n" + header + "\n" + rule + "\n";
    for (size_t l = 0; l < cs[0]->mean.residual.size(); ++l) {
      md += "| " + (l == 0 ? std::string("input") : std::to_string(l)) + " |";
      for (const Statistic& st : kStatistics)
        for (const StudyCurves* c : cs) md += " " + number((c->mean.*st.values)[l], "-") + " |";
      md += "\n";
    }
    if (stack == StackKind::Pure)
      md += "\nA residual near 1e-16 is float64 rounding: the tokens are one vector to machine precision.\n";
    md += "\n";
  }
  return md;
}

std::string rank_collapse_csv(const std::vector<StudyCurves>& curves) {
  std::string csv = "setting,model,layer";
  for (const Statistic& st : kStatistics) csv += "," + std::string(st.key) + "_mean," + st.key + "_std";
  csv += "\n";
  for (const StudyCurves& c : curves)
    for (size_t l = 0; l < c.mean.residual.size(); ++l) {
      csv += std::string(c.stack == StackKind::Pure ? "pure" : "prenorm") + "," + c.model + "," + std::to_string(l);
      for (const Statistic& st : kStatistics)
        csv += "," + number((c.mean.*st.values)[l], "") + "," + number((c.std.*st.values)[l], "");
      csv += "\n";
    }
  return csv;
}

std::vector<std::pair<std::string, std::string>> rank_collapse_plots(const std::vector<StudyCurves>& curves) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Statistic& st : kStatistics) {
    plot::Figure figure;
    figure.title = std::string(st.title) + " per layer (mean +- std over seeds)";
    figure.columns = 2;
    for (StackKind stack : {StackKind::Pure, StackKind::PreNorm}) {
      // svg.h has no log y axis: plot log10 of the mean, without the band (its +- is linear)
      const bool log = st.log_when_pure && stack == StackKind::Pure;
      plot::LineChart chart{stack_title(stack), "layer (0 = input)", (log ? "log10 " : "") + std::string(st.title),
                            {}, false};
      for (const StudyCurves* c : of_stack(curves, stack)) {
        plot::Series s{c->model, {}, c->mean.*st.values, log ? std::vector<double>() : c->std.*st.values};
        for (size_t l = 0; l < s.y.size(); ++l) {
          s.x.push_back(static_cast<double>(l));
          if (log) s.y[l] = std::log10(s.y[l]);  // 0 gives -inf, which breaks the line
        }
        chart.series.push_back(std::move(s));
      }
      if (!chart.series.empty()) figure.panels.push_back(std::move(chart));
    }
    out.emplace_back(st.key, plot::to_svg(figure));
  }
  return out;
}

}  // namespace dl
