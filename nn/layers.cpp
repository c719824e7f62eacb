#include "nn/layers.h"

#include "nn/init.h"
#include "ops/ops.h"

namespace dl {

static void check_dim(int64_t dim, const char* op) {
  DL_CHECK(dim > 0, op, "size must be positive, got " + std::to_string(dim));
}

// x must end in an axis of size C, the size of the module's (C) parameters.
static void check_last(const Tensor& x, int64_t C, const char* op) {
  DL_CHECK(x.dim() >= 1 && x.size(-1) == C, op,
           "expected input (..., " + std::to_string(C) + "), got " + x.str());
}

Embedding::Embedding(int64_t V, int64_t C, Generator& gen, DType dtype) {
  check_dim(V, "Embedding");
  check_dim(C, "Embedding");
  weight = register_parameter("weight", Tensor::empty({V, C}, dtype));
  init::normal_(weight, gen);
}

Tensor Embedding::forward(const Tensor& ids) const { return embedding(weight, ids); }

LayerNorm::LayerNorm(int64_t C, double eps_, DType dtype) : eps(eps_) {
  check_dim(C, "LayerNorm");
  weight = register_parameter("weight", Tensor::ones({C}, dtype));
  bias = register_parameter("bias", Tensor::zeros({C}, dtype));
}

Tensor LayerNorm::forward(const Tensor& x) const {
  check_last(x, weight.numel(), "LayerNorm");
  return layer_norm(x, weight, bias, eps);
}

RMSNorm::RMSNorm(int64_t C, double eps_, DType dtype) : eps(eps_) {
  check_dim(C, "RMSNorm");
  weight = register_parameter("weight", Tensor::ones({C}, dtype));
}

Tensor RMSNorm::forward(const Tensor& x) const {
  check_last(x, weight.numel(), "RMSNorm");
  return rms_norm(x, weight, eps);
}

Dropout::Dropout(double p_, uint64_t seed) : p(p_), gen_(seed) {
  DL_CHECK(p >= 0.0 && p < 1.0, "Dropout", "p must be in [0, 1), got " + std::to_string(p));
  register_generator("generator", gen_);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!training() || p == 0.0) return x;
  return dropout(x, p, gen_, true);
}

}  // namespace dl
