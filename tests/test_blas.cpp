#include "tests/testing.h"

#include "autograd/parallel.h"
#include "ops/blas.h"

using namespace dl;
using namespace dl::testing;

namespace {

// A deterministic, not too regular fill.
std::vector<double> fill(int64_t n, int seed) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = std::sin(0.37 * double(i) + seed) + 0.01 * double(i % 7);
  return v;
}

// C = alpha op(A) op(B) + beta C through dl::gemm, A and B stored as the flags say.
template <class T>
std::vector<T> run_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double beta) {
  const std::vector<double> a = fill(M * K, 1), b = fill(K * N, 2), c = fill(M * N, 3);
  std::vector<T> A(a.begin(), a.end()), B(b.begin(), b.end()), C(c.begin(), c.end());
  gemm<T>(ta, tb, M, N, K, T(0.5), A.data(), ta ? M : K, B.data(), tb ? K : N, T(beta), C.data(), N);
  return C;
}

// The same by the definition, in double.
std::vector<double> naive(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double beta) {
  const std::vector<double> a = fill(M * K, 1), b = fill(K * N, 2);
  std::vector<double> c = fill(M * N, 3);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
      c[i * N + j] = 0.5 * s + beta * c[i * N + j];
    }
  return c;
}

}  // namespace

// Shapes that take each path of ops/blas.cpp: one call, two row pieces, two column pieces, two
// halves of K (then summed), and K = 0.
TEST_CASE("gemm: every way of cutting a product gives the product, in any transpose", "[blas]") {
  ThreadCountGuard guard;
  const int64_t shapes[][3] = {{8, 8, 8}, {160, 96, 150}, {96, 160, 150}, {40, 48, 1200}, {5, 7, 0}};
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.5}) {
          INFO("M " << s[0] << " N " << s[1] << " K " << s[2] << " ta " << ta << " tb " << tb << " beta " << beta);
          const std::vector<double> want = naive(ta, tb, s[0], s[1], s[2], beta);
          set_num_threads(2);
          const std::vector<double> got = run_gemm<double>(ta, tb, s[0], s[1], s[2], beta);
          double worst = 0;
          for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
          REQUIRE(worst < 1e-9);
          // float32 on 1 and 2 threads: bitwise the same
          const std::vector<float> two = run_gemm<float>(ta, tb, s[0], s[1], s[2], beta);
          set_num_threads(1);
          REQUIRE(run_gemm<float>(ta, tb, s[0], s[1], s[2], beta) == two);
        }
}

TEST_CASE("gemm: K = 0 with beta 0 clears C, even of NaN", "[blas]") {
  std::vector<float> C(6, std::nanf("")), A(1), B(1);
  gemm<float>(false, false, 2, 3, 0, 1.0f, A.data(), 1, B.data(), 3, 0.0f, C.data(), 3);
  REQUIRE(C == std::vector<float>(6, 0.0f));
}
