// Checks and masks every tiled attention op's tests (ops/tiled_*.h) share, beside tiled == dense.
#pragma once
#include <functional>
#include "autograd/graph.h"
#include "ops/tiled_sdpa.h"
#include "tests/attention_reference.h"
#include "tests/testing.h"

namespace dl::testing {

// The mask with a key cache: 6 keys before the 3 queries, so query i sees keys up to 6 + i.
inline AttentionMask cached_causal() {
  AttentionMask mask;
  mask.causal = true;
  mask.query_offset = 6;
  return mask;
}

using ProbsFn = std::function<Tensor(const std::vector<Tensor>& inputs, Tensor* probs)>;

// Under a mask where query 0 of batch item 1 sees no key (standard_masks(S)[3], captured by both):
// that row of the output and of the gradients of the query inputs (indices in query_inputs) is 0
// and every gradient is finite; probs is left undefined while a tape is recorded and in a plain
// no-grad forward, and equals the dense op's inside an AttentionMapsGuard (drawing a heatmap).
inline void check_masked_row_and_probs(const ProbsFn& tiled, const ProbsFn& dense, const std::vector<Tensor>& in,
                                       const std::vector<size_t>& query_inputs) {
  Tensor probs;
  Tensor out = tiled(in, &probs);
  REQUIRE_FALSE(probs.defined());
  Generator wgen(1);
  out.backward(randn(out.shape(), wgen, 0, 1, out.dtype()));
  std::vector<Tensor> rows{out.detach()};
  for (size_t i : query_inputs) rows.push_back(in[i].grad());
  for (const Tensor& t : rows) {
    Tensor row = slice(slice(t, 0, 1, 2), 2, 0, 1).contiguous();
    REQUIRE(max_abs_diff(row, Tensor::zeros(row.shape(), t.dtype())) == 0);
  }
  for (const Tensor& x : in)
    if (x.requires_grad())
      for (double e : x.grad().to_vector()) REQUIRE(std::isfinite(e));
  NoGradGuard no_grad;
  tiled(in, &probs);
  REQUIRE_FALSE(probs.defined());
  AttentionMapsGuard maps;
  Tensor dense_probs;
  tiled(in, &probs);
  dense(in, &dense_probs);
  REQUIRE(max_abs_diff(probs, dense_probs) == 0);
}

}  // namespace dl::testing
