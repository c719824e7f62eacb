// Where each head's matrix lies in a 4-D tensor (B, H, rows, cols), so that BLAS reads (and
// writes) the heads in place. Speed only: multi-head attention's projections come out of their
// Linears as (B, T, H*dh); split into heads, head (b, h) is the (T, dh) matrix starting at element
// b*T*H*dh + h*dh with row stride H*dh, which BLAS takes as its lda. Reading it there saves the
// copy into dense (B, H, T, dh) heads, and writing outputs and gradients there saves the copy back.
//
// Two layouts of (B, H, rows, cols) are made here:
//   dense   strides (H*rows*cols, rows*cols, cols, 1)
//   packed  strides (rows*H*cols, cols, H*cols, 1): a view of a dense (B, rows, H*cols)
// and any 4-D view whose last axis is dense can be read.
#pragma once
#include "autograd/tensor.h"
#include "ops/blas.h"

namespace dl {

// Whether BLAS can read t's heads where they are: t is 4-D and its last axis is dense.
bool heads_in_place(const Tensor& t);

// t's heads as a batch of matrices: head bh = b * H + h starts at element at(bh) of t's view.
// Throws, naming op and t, unless heads_in_place(t).
MatrixBatch head_matrices(const char* op, const Tensor& t);

// Whether t is packed: a view of a dense (B, rows, H*cols), as heads split from a projection.
bool heads_packed(const Tensor& t);

// The packed (B, H, rows, cols) view of a dense (B, rows, H*cols) x. Not recorded.
Tensor packed_heads(const Tensor& x, int64_t heads);

// The dense (B, rows, H*cols) behind a packed t (the inverse of packed_heads). Not recorded.
Tensor unpacked_heads(const Tensor& t);

// A fresh (B, H, rows, cols) tensor of like's dtype: packed when like is packed, else dense, so an
// output or a gradient takes the layout of the input it belongs to.
Tensor uninitialized_heads_like(const Tensor& like, int64_t rows, int64_t cols);

}  // namespace dl
