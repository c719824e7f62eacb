#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

// op(a) op(b) straight from the definition, in float64, for every batch item; a 2-D side is
// shared by the batch. With sum_batch the result is the (M, N) sum over the batch items.
Tensor naive_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb, bool sum_batch = false) {
  const Tensor& batched = a.dim() > 2 ? a : b;
  const Shape batch_shape(batched.shape().begin(), batched.shape().end() - 2);
  const int64_t batch = shape_numel(batch_shape);
  const int64_t Ra = a.size(-2), Ca = a.size(-1), Rb = b.size(-2), Cb = b.size(-1);
  const int64_t M = ta ? Ca : Ra, K = ta ? Ra : Ca, N = tb ? Rb : Cb;
  REQUIRE(K == (tb ? Cb : Rb));
  const std::vector<double> va = a.to_vector(), vb = b.to_vector();
  Shape shape = sum_batch ? Shape{} : batch_shape;
  shape.insert(shape.end(), {M, N});
  std::vector<double> out(shape_numel(shape), 0.0);
  for (int64_t i = 0; i < batch; ++i) {
    const double* pa = va.data() + (a.dim() > 2 ? i * Ra * Ca : 0);
    const double* pb = vb.data() + (b.dim() > 2 ? i * Rb * Cb : 0);
    double* po = out.data() + (sum_batch ? 0 : i * M * N);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
          po[m * N + n] += (ta ? pa[k * Ca + m] : pa[m * Ca + k]) * (tb ? pb[n * Cb + k] : pb[k * Cb + n]);
  }
  return Tensor::from_vector(out, shape, DType::F64);
}

// Stored shape of a matrix operand that becomes (rows, cols) after the optional transpose.
Shape stored(Shape batch, int64_t rows, int64_t cols, bool trans) {
  batch.insert(batch.end(), {trans ? cols : rows, trans ? rows : cols});
  return batch;
}

// The transpose of x's last two axes as a bare view (not recorded).
Tensor transposed_view(const Tensor& x) {
  Shape shape = x.shape(), strides = x.strides();
  const size_t n = shape.size();
  std::swap(shape[n - 1], shape[n - 2]);
  std::swap(strides[n - 1], strides[n - 2]);
  return make_view(x, shape, strides, x.offset());
}

double rel_err(const Tensor& got, const Tensor& expected) {
  double scale = 1;
  for (double v : expected.to_vector()) scale = std::max(scale, std::fabs(v));
  return max_abs_diff(got, expected) / scale;
}

const bool kFlags[] = {false, true};

}  // namespace

TEST_CASE("matmul: 2-D values, with the transpose flags", "[matmul]") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  Tensor b = Tensor::from_vector({7, 8, 9, 10, 11, 12}, {3, 2}, DType::F64);
  Tensor at = Tensor::from_vector({1, 4, 2, 5, 3, 6}, {3, 2}, DType::F64);   // a^T
  Tensor bt = Tensor::from_vector({7, 9, 11, 8, 10, 12}, {2, 3}, DType::F64);  // b^T
  const std::vector<double> ab = {58, 64, 139, 154};
  require_values(matmul(a, b), ab);
  require_values(matmul(at, b, true, false), ab);
  require_values(matmul(a, bt, false, true), ab);
  require_values(matmul(at, bt, true, true), ab);
  REQUIRE(matmul(at, bt, true, true).shape() == Shape{2, 2});
  require_values(matmul(b, a), {39, 54, 69, 49, 68, 87, 59, 82, 105});
}

TEST_CASE("matmul: batched and shared-B values", "[matmul]") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}, DType::F64);
  Tensor eye_and_swap = Tensor::from_vector({1, 0, 0, 1, 0, 1, 1, 0}, {2, 2, 2}, DType::F64);
  require_values(matmul(a, eye_and_swap), {1, 2, 3, 4, 6, 5, 8, 7});
  Tensor w = Tensor::from_vector({1, 1, 0, 2}, {2, 2}, DType::F64);
  Tensor out = matmul(a, w);
  REQUIRE(out.shape() == Shape{2, 2, 2});
  require_values(out, {1, 5, 3, 11, 5, 17, 7, 23});
  require_values(matmul(a, w, false, true), {3, 4, 7, 8, 11, 12, 15, 16});
}

TEST_CASE("matmul: large products split into row blocks match a naive triple loop", "[matmul]") {
  Generator gen(11);
  for (bool ta : kFlags) {
    for (bool tb : kFlags) {
      INFO("trans_a " << ta << " trans_b " << tb);
      // 2-D 200x70x90, a batch of 100-row products, and a shared B under a tall (4 * 50)-row A
      Tensor a = rand64(stored({}, 200, 70, ta), gen, 1.0, false), b = rand64(stored({}, 70, 90, tb), gen, 1.0, false);
      REQUIRE(rel_err(matmul(a, b, ta, tb), naive_matmul(a, b, ta, tb)) < 1e-13);
      Tensor ab = rand64(stored({2}, 100, 70, ta), gen, 1.0, false), bb = rand64(stored({2}, 70, 90, tb), gen, 1.0, false);
      REQUIRE(rel_err(matmul(ab, bb, ta, tb), naive_matmul(ab, bb, ta, tb)) < 1e-13);
      Tensor as = rand64(stored({4}, 50, 70, ta), gen, 1.0, false);
      REQUIRE(rel_err(matmul(as, b, ta, tb), naive_matmul(as, b, ta, tb)) < 1e-13);
      Tensor a32 = a.to(DType::F32), b32 = b.to(DType::F32);
      REQUIRE(rel_err(matmul(a32, b32, ta, tb), naive_matmul(a32, b32, ta, tb)) < 1e-5);
    }
  }
}

TEST_CASE("matmul: large-product gradients match the naive formulas", "[matmul]") {
  Generator gen(12);
  for (bool ta : kFlags) {
    for (bool tb : kFlags) {
      for (const Shape& batch : {Shape{}, Shape{2}}) {
        for (bool shared : {false, true}) {
          if (shared && batch.empty()) continue;
          INFO("trans_a " << ta << " trans_b " << tb << " batch " << batch.size() << " shared " << shared);
          Tensor a = rand64(stored(batch, 100, 70, ta), gen), b = rand64(stored(shared ? Shape{} : batch, 70, 90, tb), gen);
          Tensor out = matmul(a, b, ta, tb);
          Tensor w = rand64(out.shape(), gen, 1.0, false);
          out.backward(w);
          // dA = W op(B)^T (transposed when a enters transposed); dB = op(A)^T W, likewise
          Tensor da = ta ? naive_matmul(b, w, tb, true) : naive_matmul(w, b, false, !tb);
          Tensor db = tb ? naive_matmul(w, a, true, ta, shared) : naive_matmul(a, w, !ta, false, shared);
          REQUIRE(rel_err(a.grad(), da) < 1e-13);
          REQUIRE(rel_err(b.grad(), db) < 1e-13);
        }
      }
    }
  }
}

TEST_CASE("matmul: gradients for every transpose combination", "[matmul][gradcheck]") {
  Generator gen(13);
  for (bool ta : kFlags) {
    for (bool tb : kFlags) {
      INFO("trans_a " << ta << " trans_b " << tb);
      auto f = [ta, tb](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); };
      CHECK_GRADIENTS(f, (std::vector<Tensor>{rand64(stored({}, 3, 4, ta), gen), rand64(stored({}, 4, 5, tb), gen)}));
      CHECK_GRADIENTS(f, (std::vector<Tensor>{rand64(stored({2, 2}, 3, 4, ta), gen),
                                               rand64(stored({2, 2}, 4, 5, tb), gen)}));
      // a shared B: its gradient sums over the batch
      CHECK_GRADIENTS(f, (std::vector<Tensor>{rand64(stored({2, 3}, 3, 4, ta), gen), rand64(stored({}, 4, 5, tb), gen)}));
    }
  }
}

TEST_CASE("matmul: a matrix used twice", "[matmul][gradcheck]") {
  Generator gen(14);
  Tensor sq = rand64({4, 4}, gen), rect = rand64({2, 3, 4}, gen);
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return matmul(in[0], in[0]); }, std::vector<Tensor>{sq});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return matmul(in[0], in[0], false, true); },
                  std::vector<Tensor>{rect});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return matmul(in[0], in[0], true, false); },
                  std::vector<Tensor>{rect});
}

TEST_CASE("matmul: a transposed view reaches BLAS without a copy", "[matmul]") {
  Generator gen(15);
  Tensor base = rand64({2, 5, 3}, gen, 1.0, false);  // dense storage of the view's transpose
  Tensor view = transposed_view(base).requires_grad_();  // (2, 3, 5), strides (15, 1, 3)
  Tensor dense = Tensor::from_vector(view.to_vector(), view.shape(), DType::F64).requires_grad_();
  Tensor b = rand64({2, 5, 4}, gen, 1.0, false), w = rand64({5, 4}, gen, 1.0, false);
  for (bool tb : kFlags) {
    Tensor rhs = tb ? transposed_view(b) : b;  // a transposed view on the right too
    Tensor out = matmul(view, rhs, false, tb);
    // the op's recorded input is the view itself: no contiguous() copy was made
    REQUIRE(out.grad_fn()->inputs[0].same(view));
    REQUIRE(out.grad_fn()->op == "matmul");
    REQUIRE(rel_err(out, naive_matmul(dense, rhs, false, tb)) < 1e-14);
  }
  Tensor out = matmul(view, w), ref = matmul(dense, w);
  REQUIRE(max_abs_diff(out, ref) < 1e-14);
  Tensor g = rand64(out.shape(), gen, 1.0, false);
  out.backward(g);
  ref.backward(g);
  REQUIRE(max_abs_diff(view.grad(), dense.grad()) < 1e-14);
}

TEST_CASE("matmul: gradients through transposed and strided views", "[matmul][gradcheck]") {
  Generator gen(16);
  Tensor a = rand64({2, 4, 3}, gen), b = rand64({2, 4, 5}, gen), c = rand64({2, 3, 6}, gen);
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return matmul(transpose(in[0], -1, -2), in[1]); },
                  (std::vector<Tensor>{a, b}));
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    return matmul(transpose(in[0], -1, -2), transpose(in[1], -1, -2), true, true);
  }, (std::vector<Tensor>{a, c}));
  // neither dense nor a transposed view (a column slice): copied, still correct
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return matmul(slice(in[0], 2, 1, 4), in[1], false, true); },
                  (std::vector<Tensor>{b, a}));
}

TEST_CASE("matmul: a strided input that is not a transposed view is copied", "[matmul]") {
  Generator gen(17);
  Tensor base = rand64({4, 6}, gen, 1.0, false);
  Tensor cols = make_view(base, {4, 3}, {6, 2}, 1);  // every other column, from column 1
  Tensor b = rand64({3, 2}, gen, 1.0, false);
  Tensor dense = Tensor::from_vector(cols.to_vector(), {4, 3}, DType::F64);
  REQUIRE(max_abs_diff(matmul(cols, b), naive_matmul(dense, b, false, false)) < 1e-14);
  REQUIRE(max_abs_diff(matmul(b, cols, true, true), naive_matmul(b, dense, true, true)) < 1e-14);
}

TEST_CASE("matmul: bad calls name the op and both shapes", "[matmul][errors]") {
  Tensor a = Tensor::ones({2, 3}), b = Tensor::ones({4, 5});
  REQUIRE_THROWS_WITH(matmul(a, b), Catch::Contains("matmul: inner dimensions differ: (2, 3) @ (4, 5)"));
  REQUIRE_THROWS_WITH(matmul(a, Tensor::ones({2, 5}), false, false),
                      Catch::Contains("matmul") && Catch::Contains("(2, 3) @ (2, 5)"));
  REQUIRE_NOTHROW(matmul(a, Tensor::ones({2, 5}), true, false));
  REQUIRE_THROWS_WITH(matmul(Tensor::ones({2, 2, 3}), Tensor::ones({3, 3, 4})),
                      Catch::Contains("matmul") && Catch::Contains("batch") && Catch::Contains("(3, 3, 4)"));
  REQUIRE_THROWS_WITH(matmul(a, Tensor::ones({2, 3, 4})), Catch::Contains("matmul") && Catch::Contains("(2, 3, 4)"));
  REQUIRE_THROWS_WITH(matmul(Tensor::ones({3}), a), Catch::Contains("matmul") && Catch::Contains("(3) @ (2, 3)"));
  REQUIRE_THROWS_WITH(matmul(a, Tensor::ones({3, 2}, DType::F64)),
                      Catch::Contains("matmul") && Catch::Contains("float64(3, 2)"));
  REQUIRE_THROWS_WITH(matmul(Tensor::from_ints({1, 2, 3, 4}, {2, 2}), Tensor::from_ints({1, 2, 3, 4}, {2, 2})),
                      Catch::Contains("matmul") && Catch::Contains("int32"));
}
