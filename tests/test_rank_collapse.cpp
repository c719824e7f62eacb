#include "tests/testing.h"

#include <cmath>
#include "examples/common/rank_collapse.h"
#include "nn/diagnostics.h"

using namespace dl;
using namespace dl::testing;

namespace {

RankCollapseConfig tiny() {
  RankCollapseConfig c;
  c.layers = 3;
  c.d = 8;
  c.heads = 2;
  c.T = 4;
  c.B = 2;
  c.seeds = 2;
  return c;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("rank-collapse diagnostics of hand-built token matrices", "[rank_collapse]") {
  // rows u_i v with u = (1, 2, 3): one direction (cosine 1), but not one vector:
  // residual = ||u - mean u|| / ||u|| = sqrt(2) / sqrt(14)
  Tensor rank1 = Tensor::from_vector({1, 2, 2, 4, 3, 6}, {3, 2}, DType::F64);
  REQUIRE(std::fabs(mean_cosine_similarity(rank1) - 1) < 1e-15);
  REQUIRE(std::fabs(relative_residual(rank1) - std::sqrt(2.0 / 14.0)) < 1e-15);
  // collapsed: every row the same vector
  Tensor same = Tensor::from_vector({1, -2, 3, 1, -2, 3, 1, -2, 3}, {3, 3}, DType::F64);
  REQUIRE(relative_residual(same) == 0);
  REQUIRE(std::fabs(mean_cosine_similarity(same) - 1) < 1e-15);
  // orthogonal rows; mean (1/3, 1/3, 1/3, 0): residual^2 = (3 * (4/9 + 2/9)) / 3 = 2/3
  Tensor orthogonal = Tensor::from_vector({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, {3, 4}, DType::F64);
  REQUIRE(std::fabs(mean_cosine_similarity(orthogonal)) < 1e-15);
  REQUIRE(std::fabs(relative_residual(orthogonal) - std::sqrt(2.0 / 3.0)) < 1e-15);
  // a batch of the two collapse extremes averages them
  Tensor batch = Tensor::from_vector({1, 0, 0, 1, 2, 2, 2, 2}, {2, 2, 2}, DType::F64);
  REQUIRE(std::fabs(mean_cosine_similarity(batch) - 0.5) < 1e-15);
  REQUIRE(std::fabs(relative_residual(batch) - 0.5 / std::sqrt(2.0)) < 1e-15);
}

TEST_CASE("rank-collapse study: finite statistics per layer for every setting and model", "[rank_collapse]") {
  const RankCollapseConfig c = tiny();
  const std::vector<StudyModel> models = study_models(c.heads, {0.2});
  REQUIRE(models.size() == 2);
  REQUIRE(models[1].name == "daGPAM lam=0.2");
  const std::vector<StudyCurves> curves = rank_collapse_study(c, models);
  REQUIRE(curves.size() == 4);  // 2 settings x 2 models
  for (const StudyCurves& cv : curves) {
    INFO(stack_title(cv.stack) << ", " << cv.model);
    for (const LayerStats* s : {&cv.mean, &cv.std}) {
      REQUIRE(s->residual.size() == 4);  // input + 3 layers
      REQUIRE(s->cosine.size() == 4);
      REQUIRE(s->query_grad.size() == 4);
      REQUIRE(std::isnan(s->query_grad[0]));
    }
    for (size_t l = 0; l < 4; ++l) {
      INFO("layer " << l);
      REQUIRE((cv.mean.residual[l] >= 0 && cv.mean.residual[l] <= 1));
      REQUIRE((cv.mean.cosine[l] >= -1 && cv.mean.cosine[l] <= 1));
      REQUIRE((std::isfinite(cv.std.residual[l]) && std::isfinite(cv.std.cosine[l])));
      if (l > 0) REQUIRE((std::isfinite(cv.mean.query_grad[l]) && cv.mean.query_grad[l] > 0));
    }
    // every model of a seed sees the same input
    REQUIRE(cv.mean.residual[0] == curves[0].mean.residual[0]);
  }
  // pure softmax attention averages the tokens together layer after layer
  REQUIRE(curves[0].mean.residual[3] < 0.5 * curves[0].mean.residual[0]);
}

TEST_CASE("rank-collapse study: daGPAM with lam 0 shares the softmax stack's weights and results", "[rank_collapse]") {
  RankCollapseConfig c = tiny();
  c.seeds = 1;
  const std::vector<StudyModel> models = study_models(c.heads, {0.0, 0.5});
  for (StackKind stack : {StackKind::Pure, StackKind::PreNorm}) {
    INFO(stack_title(stack));
    const LayerStats softmax = measure_stack(c, stack, models[0].attention, 7);
    const LayerStats lam0 = measure_stack(c, stack, models[1].attention, 7);
    const LayerStats lam05 = measure_stack(c, stack, models[2].attention, 7);
    for (size_t l = 1; l < softmax.residual.size(); ++l) {
      INFO("layer " << l);
      REQUIRE(std::fabs(lam0.residual[l] - softmax.residual[l]) < 1e-12);
      REQUIRE(std::fabs(lam0.cosine[l] - softmax.cosine[l]) < 1e-12);
      REQUIRE(std::fabs(lam0.query_grad[l] - softmax.query_grad[l]) < 1e-9 * softmax.query_grad[l]);
    }
    REQUIRE(lam05.query_grad[1] != softmax.query_grad[1]);  // lam does reach the result
  }
}

TEST_CASE("rank-collapse study: table, CSV and plots list every layer and model", "[rank_collapse]") {
  RankCollapseConfig c = tiny();
  c.seeds = 1;
  const std::vector<StudyCurves> curves = rank_collapse_study(c, study_models(c.heads, {0.2}));
  const std::string csv = rank_collapse_csv(curves);
  REQUIRE(csv.rfind("setting,model,layer,residual_mean,residual_std,cosine_mean,cosine_std,query_grad_mean,"
                    "query_grad_std\n", 0) == 0);
  REQUIRE(count(csv, "\n") == 1 + 2 * 2 * 4);
  REQUIRE(count(csv, "pure,daGPAM lam=0.2,") == 4);
  REQUIRE(count(csv, "prenorm,softmax,0,") == 1);
  const std::string md = rank_collapse_markdown(curves);
  REQUIRE(count(md, "| input |") == 2);
  REQUIRE(count(md, "| 3 |") == 2);
  REQUIRE(count(md, "query weight grad norm, daGPAM lam=0.2") == 2);
  const auto plots = rank_collapse_plots(curves);
  REQUIRE(plots.size() == 3);
  REQUIRE(plots[0].first == "residual");
  for (const auto& [stem, svg] : plots) {
    INFO(stem);
    REQUIRE(count(svg, ">daGPAM lam=0.2</text>") == 2);  // one legend per setting's panel
    REQUIRE(count(svg, ">layer (0 = input)</text>") == 2);
  }
  c.T = 1;
  REQUIRE_THROWS_WITH(rank_collapse_curves(c, StackKind::Pure, study_models(2, {})[0]),
                      Catch::Contains("rank_collapse") && Catch::Contains("T 1"));
}
