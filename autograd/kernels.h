// The one arithmetic kernel the engine itself needs: a + b for gradients of equal shape. Ops live
// in ops/, which builds on autograd/; this keeps autograd/ free of any dependency on ops/.
#pragma once
#include "autograd/tensor.h"

namespace dl {

Tensor add_kernel(const Tensor& a, const Tensor& b);  // same shape and dtype; dense result

}  // namespace dl
