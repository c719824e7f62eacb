// The BLAS boundary: row-major C = alpha op(A) op(B) + beta C through cblas_sgemm / cblas_dgemm.
// OpenBLAS runs single-threaded (autograd/parallel.h); parallelism comes from TBB, across the
// problems of a batch or across blocks of rows (or columns) of one large product. Block edges depend
// on the problem size only, so results are the same for any thread count.
#pragma once
#include <cstdint>

namespace dl {

// op(A) is (M, K), op(B) is (K, N), C is (M, N); lda/ldb/ldc are the row strides of the stored
// (untransposed) matrices, as in cblas with CblasRowMajor.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Where matrix i of a batch lies: with i = o * inner + j, at element o * outer_stride +
// j * inner_stride, its rows ld apart. A batch of heads (b, h) of a 4-D tensor has inner = H
// (ops/head_layout.h); a batch with one stride s is {ld, 1, s, 0}.
struct MatrixBatch {
  int64_t ld, inner, outer_stride, inner_stride;
  int64_t at(int64_t i) const { return (i / inner) * outer_stride + (i % inner) * inner_stride; }
};

// `batch` independent gemms; problem i uses A + a.at(i), B + b.at(i), C + c.at(i), with the
// row strides a.ld, b.ld, c.ld (the C matrices must not overlap).
template <class T>
void batched_gemm(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                  T alpha, const T* A, const MatrixBatch& a, const T* B, const MatrixBatch& b,
                  T beta, T* C, const MatrixBatch& c);

// `batch` independent gemms; problem i uses A + i*stride_a, B + i*stride_b, C + i*stride_c
// (a stride of 0 shares one matrix across the batch; C strides must not overlap).
template <class T>
void batched_gemm(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                  T alpha, const T* A, int64_t lda, int64_t stride_a, const T* B, int64_t ldb,
                  int64_t stride_b, T beta, T* C, int64_t ldc, int64_t stride_c);

}  // namespace dl
