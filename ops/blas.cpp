#include "ops/blas.h"

#include <cblas.h>

#include <algorithm>
#include <memory>
#include "autograd/parallel.h"
#include "autograd/profile.h"

namespace dl {

static void cblas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K,
                       float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                       float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void cblas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K,
                       double alpha, const double* A, int64_t lda, const double* B, int64_t ldb,
                       double beta, double* C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Every BLAS call goes through here; while profiling, its CPU time and FLOPs are charged to the
// op running it (autograd/profile.h).
template <class T>
static void blas_call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K, T alpha,
                      const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (!profiling()) return cblas_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  const double start = detail::thread_cpu_seconds();
  cblas_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  detail::profile_blas(detail::thread_cpu_seconds() - start, 2.0 * M * N * K);
}

// A product runs as up to kMaxPieces parallel pieces of at least kPieceWork multiply-adds each (a
// task costs more than a smaller product), cut across the longer of op(A)'s rows and op(B)'s
// columns (cutting the shorter side would have every piece re-pack most of the operands), or
// across K when K is much the longest (gemm_halves_of_k). Every piece costs a few percent of BLAS
// speed, so there are as many as this machine's two cores need. Piece edges are multiples of 16
// (the sgemm kernel's tile) and depend on the sizes only.
constexpr int64_t kPieceWork = 1 << 20;
constexpr int64_t kMaxPieces = 2;

// The two-piece form of a product much deeper than wide (a weight gradient: a sum over every row
// of a batch): the K sum is cut in two halves, run in parallel, the second into scratch that is
// then added to C, so each piece keeps the full width (cutting the narrow M or N costs 10%). The
// cut and the order of the final sum are fixed: the same result for any thread count.
template <class T>
static void gemm_halves_of_k(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K,
                             T alpha, const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C,
                             int64_t ldc) {
  const int64_t k0 = (K / 2 + 15) / 16 * 16;
  // op(A) columns k0.. are stored rows k0.. when A is transposed; op(B) rows k0.. are stored
  // columns k0.. when B is
  const T* a = ta == CblasTrans ? A + k0 * lda : A + k0;
  const T* b = tb == CblasTrans ? B + k0 : B + k0 * ldb;
  std::unique_ptr<T[]> rest(new T[M * N]);  // (M, N), the second half
  parallel_for(0, 2, 1, [&](int64_t half, int64_t) {
    if (half == 0) blas_call(ta, tb, M, N, k0, alpha, A, lda, B, ldb, beta, C, ldc);
    else blas_call(ta, tb, M, N, K - k0, alpha, a, lda, b, ldb, T(0), rest.get(), N);
  });
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] += rest[i * N + j];
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta C, and exactly 0 for beta = 0 whatever C held
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  const int64_t pieces = std::min(kMaxPieces, M * N * K / kPieceWork);
  if (pieces < 2) return blas_call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (K > 2 * std::max(M, N)) return gemm_halves_of_k(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  const bool rows = M >= N;
  const int64_t len = rows ? M : N, piece = ((len + pieces - 1) / pieces + 15) / 16 * 16;
  parallel_for(0, len, piece, [&](int64_t i0, int64_t i1) {
    if (rows) {  // op(A) rows i0.. are stored columns i0.. when A is transposed
      const T* a = trans_a ? A + i0 : A + i0 * lda;
      blas_call(ta, tb, i1 - i0, N, K, alpha, a, lda, B, ldb, beta, C + i0 * ldc, ldc);
    } else {     // op(B) columns i0.. are stored rows i0.. when B is transposed
      const T* b = trans_b ? B + i0 * ldb : B + i0;
      blas_call(ta, tb, M, i1 - i0, K, alpha, A, lda, b, ldb, beta, C + i0, ldc);
    }
  });
}

template <class T>
void batched_gemm(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                  T alpha, const T* A, const MatrixBatch& a, const T* B, const MatrixBatch& b,
                  T beta, T* C, const MatrixBatch& c) {
  // items per task: a quarter piece of work, so even a batch of tiny products (attention's heads
  // at size S) splits into a few tasks
  const int64_t grain = std::max<int64_t>(1, kPieceWork / 4 / std::max<int64_t>(1, M * N * K));
  parallel_for(0, batch, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      gemm(trans_a, trans_b, M, N, K, alpha, A + a.at(i), a.ld, B + b.at(i), b.ld, beta, C + c.at(i), c.ld);
  });
}

template <class T>
void batched_gemm(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                  T alpha, const T* A, int64_t lda, int64_t stride_a, const T* B, int64_t ldb,
                  int64_t stride_b, T beta, T* C, int64_t ldc, int64_t stride_c) {
  batched_gemm(batch, trans_a, trans_b, M, N, K, alpha, A, MatrixBatch{lda, 1, stride_a, 0}, B,
               MatrixBatch{ldb, 1, stride_b, 0}, beta, C, MatrixBatch{ldc, 1, stride_c, 0});
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);
template void batched_gemm<float>(int64_t, bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                  const MatrixBatch&, const float*, const MatrixBatch&, float, float*,
                                  const MatrixBatch&);
template void batched_gemm<double>(int64_t, bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                   const MatrixBatch&, const double*, const MatrixBatch&, double, double*,
                                   const MatrixBatch&);
template void batched_gemm<float>(int64_t, bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                  int64_t, int64_t, const float*, int64_t, int64_t, float, float*,
                                  int64_t, int64_t);
template void batched_gemm<double>(int64_t, bool, bool, int64_t, int64_t, int64_t, double,
                                   const double*, int64_t, int64_t, const double*, int64_t, int64_t,
                                   double, double*, int64_t, int64_t);

}  // namespace dl
