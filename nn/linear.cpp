#include "nn/linear.h"

#include <cmath>
#include "nn/init.h"
#include "ops/ops.h"

namespace dl {

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool has_bias, DType dtype)
    : in_features(in), out_features(out) {
  DL_CHECK(in > 0 && out > 0, "Linear", "sizes must be positive, got in " + std::to_string(in) +
                                            ", out " + std::to_string(out));
  weight = register_parameter("weight", Tensor::empty({out, in}, dtype));
  init::kaiming_uniform_(weight, gen, std::sqrt(5.0));
  if (has_bias) {
    const double b = 1.0 / std::sqrt(static_cast<double>(in));
    bias = register_parameter("bias", Tensor::empty({out}, dtype));
    init::uniform_(bias, gen, -b, b);
  }
}

Tensor Linear::forward(const Tensor& x) const {
  DL_CHECK(x.dim() >= 1 && x.size(-1) == in_features, "Linear",
           "expected input (..., " + std::to_string(in_features) + "), got " + x.str());
  if (x.dim() == 1) return reshape(forward(reshape(x, {1, in_features})), {out_features});
  return bias.defined() ? linear(x, weight, bias) : matmul(x, weight, false, true);  // (..., out)
}

}  // namespace dl
