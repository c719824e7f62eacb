#include "ops/dropout.h"

#include "autograd/graph.h"
#include "ops/elementwise.h"

namespace dl {

Tensor dropout(const Tensor& x, double p, Generator& gen, bool training) {
  DL_CHECK(is_floating(x.dtype()), "dropout", "expected a float tensor, got " + x.str());
  DL_CHECK(p >= 0 && p < 1, "dropout", "p must be in [0, 1), got " + std::to_string(p) + " for " + x.str());
  if (!training || p == 0) return x;
  // Drawn serially in row-major order, so the mask depends on the seed only.
  std::vector<double> keep(x.numel());
  for (double& k : keep) k = gen.uniform() < p ? 0.0 : 1.0 / (1.0 - p);
  const Tensor mask = Tensor::from_vector(keep, x.shape(), x.dtype());  // 0 or 1 / (1 - p)
  return record("dropout", mul(x.detach(), mask), {x}, [mask](const Tensor& g, const Needs&) {
    return Grads{mul(g, mask)};
  });
}

}  // namespace dl
