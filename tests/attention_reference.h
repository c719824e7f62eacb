// What the attention tests share: the naive references every fused attention op is checked
// against (tests/naive/: plain float64 loops, nothing of the library's kernels), the masks every
// op is tested under, and small comparison helpers.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>
#include "autograd/gradcheck.h"
#include "ops/attention_probs.h"
#include "ops/ops.h"
#include "tests/naive/attention.h"
#include "tests/naive/gradients.h"

namespace dl::testing {

// The mask as bools (B, 1, T, S), true = excluded, for softmax.
inline Tensor dense_attention_mask(const AttentionMask& mask, int64_t B, int64_t T, int64_t S) {
  std::vector<bool> m(B * T * S);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < S; ++j) m[(b * T + i) * S + j] = mask.masked(b, i, j, S);
  return Tensor::from_bools(m, {B, 1, T, S});
}

// The masks every attention op is tested under: none, causal, key padding, and both. The padding
// drops the last two keys of batch item 0 and key 0 of item 1, so with the causal mask query 0 of
// item 1 sees no key at all (a fully masked row). Needs B = 2 and S >= 3.
inline std::vector<AttentionMask> standard_masks(int64_t S) {
  std::vector<bool> pad(2 * S, false);
  pad[S - 2] = pad[S - 1] = pad[S] = true;
  AttentionMask none, causal, padding, both;
  causal.causal = both.causal = true;
  padding.key_padding = both.key_padding = Tensor::from_bools(pad, {2, S});
  return {none, causal, padding, both};
}

// A copy of x (no grad) with every entry at index > i along axis shifted by 1.
inline Tensor perturb_after(const Tensor& x, int64_t axis, int64_t i) {
  const Shape& s = x.shape();
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= s[d];
  std::vector<double> v = x.to_vector();
  for (size_t e = 0; e < v.size(); ++e)
    if (static_cast<int64_t>(e) / inner % s[axis] > i) v[e] += 1.0;
  return Tensor::from_vector(v, s, x.dtype());
}

// max |a - b| / max |b|: the float32 forward against the float64 one.
inline double relative_difference(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.to_vector(), y = b.to_vector();
  double diff = 0, scale = 0;
  for (size_t e = 0; e < x.size(); ++e) {
    const double d = std::fabs(x[e] - y[e]);
    if (!(d <= diff)) diff = d;  // a NaN becomes the difference
    scale = std::max(scale, std::fabs(y[e]));
  }
  return diff / scale;
}

// The largest absolute difference between f(inputs) and g(inputs), over the outputs and the
// gradients of every input that requires grad, both backpropagated from the same random weights.
inline double max_difference_with_gradients(const TensorFn& f, const TensorFn& g,
                                            const std::vector<Tensor>& inputs, uint64_t seed = 99) {
  auto run = [&](const TensorFn& fn, Tensor& w) {
    for (const Tensor& x : inputs) x.zero_grad();
    Tensor y = fn(inputs);
    if (!w.defined()) {
      Generator gen(seed);
      w = randn(y.shape(), gen, 0.0, 1.0, y.dtype());
    }
    y.backward(w);
    std::vector<Tensor> out{y.detach()};
    for (const Tensor& x : inputs)
      if (x.requires_grad()) out.push_back(x.grad().defined() ? x.grad() : Tensor::zeros(x.shape(), x.dtype()));
    return out;
  };
  Tensor w;
  std::vector<Tensor> a = run(f, w), b = run(g, w);
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    std::vector<double> x = a[i].to_vector(), y = b[i].to_vector();
    for (size_t e = 0; e < x.size(); ++e) {
      const double d = std::fabs(x[e] - y[e]);
      if (!(d <= worst)) worst = d;  // a NaN becomes the worst
    }
  }
  return worst;
}

}  // namespace dl::testing
