// The arithmetic the engine itself needs to sum gradients of equal shape. Ops live in ops/, which
// builds on autograd/; this keeps autograd/ free of any dependency on ops/.
#pragma once
#include "autograd/tensor.h"

namespace dl {

Tensor add_kernel(const Tensor& a, const Tensor& b);  // same shape and dtype; dense result
void add_into(const Tensor& acc, const Tensor& b);    // acc += b in place; acc dense, same shape and dtype

}  // namespace dl
