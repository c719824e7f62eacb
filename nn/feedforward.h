// Position-wise feed-forward block, x (..., d) -> (..., d):
//   ReLU:    linear2(relu(linear1 x))
//   GELU:    linear2(gelu(linear1 x))                       (erf form)
//   SwiGLU:  linear2(silu(linear1 x) * linear3 x)           (linear3 is the gate's second branch)
// linear1 and linear3 map d -> d_ff, linear2 maps d_ff -> d; registered in that order.
#pragma once
#include <memory>
#include "nn/linear.h"

namespace dl {

enum class FFNKind { ReLU, GELU, SwiGLU };

class FeedForward : public Module {
 public:
  FeedForward(int64_t d, int64_t d_ff, FFNKind kind, Generator& gen, bool bias = true,
              DType dtype = DType::F32);
  Tensor forward(const Tensor& x) const;

  FFNKind kind;
  std::shared_ptr<Linear> linear1, linear2, linear3;  // linear3 only for SwiGLU
};

}  // namespace dl
