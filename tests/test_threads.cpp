#include "tests/testing.h"

#include "autograd/parallel.h"

using namespace dl;
using namespace dl::testing;

namespace {

struct Result {
  std::vector<double> out;
  std::vector<std::vector<double>> grads;  // one per input
};

// A float32 block with every kind of parallel kernel, forward and backward, sized so that each
// one splits into several chunks: a tall matmul in row blocks, layer_norm's per-block weight and
// bias sums, elementwise loops, a batched matmul and a softmax.
Result run(int threads, const std::vector<Tensor>& in, const Tensor& g) {
  set_num_threads(threads);
  for (const Tensor& t : in) t.zero_grad();
  const Tensor &x = in[0], &w = in[1], &gamma = in[2], &beta = in[3];
  Tensor h = matmul(x, w, false, true);                    // (4, 64, 192): one 256 x 192 x 96 gemm
  Tensor n = layer_norm(h, gamma, beta);                   // (4, 64, 192)
  Tensor e = n * exp(n * -0.25) + 0.5;                     // (4, 64, 192)
  Tensor p = softmax(matmul(e, e, false, true) * 0.05);   // (4, 64, 64)
  Tensor y = matmul(p, e);                                 // (4, 64, 192)
  y.backward(g);
  Result r{y.to_vector(), {}};
  for (const Tensor& t : in) r.grads.push_back(t.grad().to_vector());
  return r;
}

}  // namespace

TEST_CASE("threads: 1 and 2 threads give bitwise-identical outputs and gradients", "[threads]") {
  ThreadCountGuard guard;
  Generator gen(31);
  std::vector<Tensor> in = {randn({4, 64, 96}, gen), randn({192, 96}, gen, 0.0, 0.1),
                            randn({192}, gen, 1.0, 0.1), randn({192}, gen, 0.0, 0.1)};
  for (Tensor& t : in) t.requires_grad_();
  Tensor g = randn({4, 64, 192}, gen);
  const Result one = run(1, in, g), two = run(2, in, g);
  REQUIRE(one.out == two.out);
  for (size_t i = 0; i < in.size(); ++i) {
    INFO("gradient of input " << i);
    REQUIRE(one.grads[i] == two.grads[i]);
  }
  // and not trivially: the gradients are not all zero
  double total = 0;
  for (double v : one.grads[1]) total += std::fabs(v);
  REQUIRE(total > 0);
}
