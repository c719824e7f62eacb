// Shape ops. Views (no copy) where the memory allows: reshape of a contiguous tensor, transpose,
// permute, slice. Backward of each is the inverse rearrangement of the gradient:
//   reshape: reshape g back     transpose/permute: the inverse permutation of g
//   slice: g placed into zeros   concat: g split back   split: each piece's g concatenated
//   index_select: scatter-add g into the selected rows   masked_fill: g with masked entries 0
#pragma once
#include <vector>
#include "autograd/tensor.h"

namespace dl {

Tensor reshape(const Tensor& x, const Shape& shape);  // one entry may be -1 (inferred)
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& order);
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end);  // [start, end)
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index);  // index: int32 (n)
// out = value where mask (bool, broadcastable to x) is true, else x
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

}  // namespace dl
