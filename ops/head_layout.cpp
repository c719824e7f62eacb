#include "ops/head_layout.h"

#include <algorithm>

namespace dl {

static Shape packed_strides(int64_t H, int64_t rows, int64_t cols) { return {rows * H * cols, cols, H * cols, 1}; }

bool heads_in_place(const Tensor& t) { return t.dim() == 4 && (t.strides()[3] == 1 || t.size(3) == 1); }

MatrixBatch head_matrices(const char* op, const Tensor& t) {
  DL_CHECK(heads_in_place(t), op, "expected (B, H, rows, cols) with a dense last axis, got " + t.str());
  const Shape& s = t.strides();
  // BLAS wants ld >= cols even where it reads a single row, whatever stride a size-1 axis has
  const int64_t ld = t.size(2) == 1 ? std::max<int64_t>(t.size(3), 1) : s[2];
  return MatrixBatch{ld, t.size(1), s[0], s[1]};
}

bool heads_packed(const Tensor& t) {
  return t.dim() == 4 && t.strides() == packed_strides(t.size(1), t.size(2), t.size(3));
}

Tensor packed_heads(const Tensor& x, int64_t heads) {
  DL_CHECK((x.dim() == 3 && x.is_contiguous() && heads > 0 && x.size(2) % heads == 0), "packed_heads",
           "expected a dense (B, rows, H*cols) for " + std::to_string(heads) + " heads, got " + x.str());
  const int64_t B = x.size(0), rows = x.size(1), cols = x.size(2) / heads;
  return make_view(x, {B, heads, rows, cols}, packed_strides(heads, rows, cols), x.offset());
}

Tensor unpacked_heads(const Tensor& t) {
  DL_CHECK(heads_packed(t), "unpacked_heads", "expected packed heads, got " + t.str() + " with other strides");
  const int64_t B = t.size(0), H = t.size(1), rows = t.size(2), cols = t.size(3);
  return make_view(t, {B, rows, H * cols}, contiguous_strides({B, rows, H * cols}), t.offset());
}

Tensor uninitialized_heads_like(const Tensor& like, int64_t rows, int64_t cols) {
  const int64_t B = like.size(0), H = like.size(1);
  if (!heads_packed(like)) return Tensor::uninitialized({B, H, rows, cols}, like.dtype());
  return packed_heads(Tensor::uninitialized({B, rows, H * cols}, like.dtype()), H);
}

}  // namespace dl
