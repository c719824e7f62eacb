#include "nn/feedforward.h"

#include "ops/ops.h"

namespace dl {

FeedForward::FeedForward(int64_t d, int64_t d_ff, FFNKind kind_, Generator& gen, bool bias, DType dtype)
    : kind(kind_) {
  linear1 = register_module("linear1", std::make_shared<Linear>(d, d_ff, gen, bias, dtype));
  linear2 = register_module("linear2", std::make_shared<Linear>(d_ff, d, gen, bias, dtype));
  if (kind == FFNKind::SwiGLU)
    linear3 = register_module("linear3", std::make_shared<Linear>(d, d_ff, gen, bias, dtype));
}

Tensor FeedForward::forward(const Tensor& x) const {
  Tensor h = linear1->forward(x);  // (..., d_ff)
  switch (kind) {
    case FFNKind::ReLU: h = relu(h); break;
    case FFNKind::GELU: h = gelu(h); break;
    case FFNKind::SwiGLU: h = silu(h) * linear3->forward(x); break;
  }
  return linear2->forward(h);
}

}  // namespace dl
