// NumPy broadcasting: shapes are aligned on the right; an axis of size 1 (or a missing one)
// stretches to the other's size. The backward of a broadcasting op sums the gradient over the
// stretched axes (sum_to), since each input element fed every output it was stretched over.
#pragma once
#include "autograd/tensor.h"

namespace dl {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Strides that read t as if it had `shape` (0 on stretched axes); t must broadcast to shape.
Shape broadcast_strides(const Tensor& t, const Shape& shape, const char* op);
// Sum g down to `shape` (the inverse of broadcasting `shape` up to g's shape). Not recorded.
Tensor sum_to(const Tensor& g, const Shape& shape);
// Whether `inner`, leading 1s aside, is the trailing part of `shape`: a dense tensor of shape
// inner then repeats along shape's leading axes (a bias against a batch), at flat index % numel.
bool is_trailing(const Shape& inner, const Shape& shape);

}  // namespace dl
