#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

// (2, 3) float64 holding 0 .. 5 in row-major order
static Tensor iota23() { return Tensor::from_vector({0, 1, 2, 3, 4, 5}, {2, 3}, DType::F64); }

TEST_CASE("reshape: values, -1 inference, and a copy for strided inputs", "[shape]") {
  Tensor x = iota23();
  Tensor r = reshape(x, {3, -1});
  REQUIRE(r.shape() == Shape{3, 2});
  require_values(r, {0, 1, 2, 3, 4, 5});
  REQUIRE(reshape(x, {-1}).shape() == Shape{6});
  REQUIRE(reshape(x, {1, 2, 1, 3}).shape() == (Shape{1, 2, 1, 3}));

  Tensor t = reshape(transpose(x, 0, 1), {6});  // not expressible as a view of x
  require_values(t, {0, 3, 1, 4, 2, 5});
  x.data<double>()[0] = 100;
  REQUIRE(t.at({0}) == 0);
}

TEST_CASE("transpose and permute: strided views with the right values", "[shape]") {
  Tensor x = iota23();
  Tensor t = transpose(x, 0, -1);
  REQUIRE(t.shape() == Shape{3, 2});
  REQUIRE(t.strides() == Shape{1, 3});
  REQUIRE_FALSE(t.is_contiguous());
  require_values(t, {0, 3, 1, 4, 2, 5});

  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i;
  Tensor y = Tensor::from_vector(v, {2, 3, 4}, DType::F64);
  Tensor p = permute(y, {2, 0, 1});  // p[k, i, j] = y[i, j, k] = 12 i + 4 j + k
  REQUIRE(p.shape() == (Shape{4, 2, 3}));
  REQUIRE(p.at({1, 1, 2}) == 21);
  REQUIRE(p.at({3, 0, 1}) == 7);
  require_values(permute(p, {1, 2, 0}), v);
}

TEST_CASE("slice, split and concat: values, negative indices, any axis", "[shape]") {
  Tensor x = iota23();
  require_values(slice(x, 1, -2, 3), {1, 2, 4, 5});
  require_values(slice(x, 0, 1, 2), {3, 4, 5});
  require_values(slice(x, -1, 0, -1), {0, 1, 3, 4});
  REQUIRE(slice(x, 1, 2, 2).shape() == Shape{2, 0});

  std::vector<Tensor> parts = split(x, {1, 2}, 1);
  REQUIRE(parts.size() == 2);
  require_values(parts[0], {0, 3});
  require_values(parts[1], {1, 2, 4, 5});

  Tensor row = Tensor::from_vector({6, 7, 8}, {1, 3}, DType::F64);
  Tensor col = Tensor::from_vector({10, 20}, {2, 1}, DType::F64);
  require_values(concat({x, row}, 0), {0, 1, 2, 3, 4, 5, 6, 7, 8});
  Tensor c = concat({x, col}, -1);
  REQUIRE(c.shape() == Shape{2, 4});
  require_values(c, {0, 1, 2, 10, 3, 4, 5, 20});
  require_values(concat({transpose(x, 0, 1), transpose(x, 0, 1)}, 1), {0, 3, 0, 3, 1, 4, 1, 4, 2, 5, 2, 5});
  require_values(concat(parts, 1), x.to_vector());
  require_values(concat({Tensor::from_ints({1, 2}, {2}), Tensor::from_ints({3}, {1})}, 0), {1, 2, 3});
}

TEST_CASE("views share storage with their base and are recorded on the tape", "[shape]") {
  Tensor x = iota23();
  Tensor r = reshape(x, {3, 2}), t = transpose(x, 0, 1), p = permute(x, {1, 0});
  Tensor s = slice(x, 1, 1, 3), piece = split(x, {2, 1}, 1)[1];
  x.data<double>()[4] = 40;  // x[1, 1]
  REQUIRE(r.at({2, 0}) == 40);
  REQUIRE(t.at({1, 1}) == 40);
  REQUIRE(p.at({1, 1}) == 40);
  REQUIRE(s.at({1, 0}) == 40);
  x.data<double>()[5] = 50;  // x[1, 2]
  REQUIRE(piece.at({1, 0}) == 50);

  Tensor w = iota23().requires_grad_();
  REQUIRE(transpose(w, 0, 1).grad_fn()->op == "transpose");
  REQUIRE(reshape(w, {6}).grad_fn()->op == "reshape");
  REQUIRE(slice(w, 0, 0, 1).grad_fn()->op == "slice");
  reshape(transpose(w, 0, 1), {6}).backward(Tensor::from_vector({1, 2, 3, 4, 5, 6}, {6}, DType::F64));
  require_values(w.grad(), {1, 3, 5, 2, 4, 6});  // the inverse rearrangement of g
}

TEST_CASE("index_select and masked_fill: values and hand-computed gradients", "[shape]") {
  Tensor x = iota23().requires_grad_();
  Tensor idx = Tensor::from_ints({2, 0, 2}, {3});
  Tensor y = index_select(x, 1, idx);
  REQUIRE(y.shape() == Shape{2, 3});
  require_values(y, {2, 0, 2, 5, 3, 5});
  y.backward(Tensor::ones({2, 3}, DType::F64));
  require_values(x.grad(), {1, 0, 2, 1, 0, 2});  // repeated indices accumulate
  require_values(index_select(x, 0, Tensor::from_ints({1, 1}, {2})), {3, 4, 5, 3, 4, 5});

  Tensor rows = Tensor::from_bools({false, true}, {2, 1});
  Tensor cols = Tensor::from_bools({true, false, false}, {1, 3});
  require_values(masked_fill(x, rows, -1), {0, 1, 2, -1, -1, -1});
  x.zero_grad();
  Tensor m = masked_fill(x, cols, -INFINITY);
  require_values(slice(m, 1, 1, 3), {1, 2, 4, 5});
  REQUIRE(m.at({1, 0}) == -INFINITY);
  m.backward(Tensor::full({2, 3}, 2.0, DType::F64));
  require_values(x.grad(), {0, 2, 2, 0, 2, 2});
}

TEST_CASE("reshape, transpose, permute, slice: gradients through strided views", "[shape][gradcheck]") {
  Generator gen(11);
  Tensor a = rand64({3, 4}, gen), b = rand64({2, 3, 4}, gen);
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return reshape(transpose(in[0], 0, 1), {2, -1}); },
                  std::vector<Tensor>{a});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return transpose(reshape(in[0], {4, 3}), -1, 0) * 2.0; },
                  std::vector<Tensor>{a});
  // b reaches the output along two differently strided paths
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    Tensor p = permute(in[0], {2, 0, 1});  // (4, 2, 3)
    return slice(p, 0, 1, -1) * permute(slice(in[0], -1, 0, 2), {2, 0, 1});  // (2, 2, 3)
  }, std::vector<Tensor>{b});
}

TEST_CASE("concat and split: gradients with strided inputs and a tensor used twice", "[shape][gradcheck]") {
  Generator gen(12);
  Tensor a = rand64({3, 4}, gen), c = rand64({2, 3}, gen);
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return concat({transpose(in[0], 0, 1), in[1]}, 0); },
                  (std::vector<Tensor>{a, c}));
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return concat({in[0], in[0] * in[0]}, -1); },
                  std::vector<Tensor>{a});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    std::vector<Tensor> p = split(in[0], {1, 2, 1}, 1);  // (3, 1), (3, 2), (3, 1)
    return concat({p[2] * p[0], p[1]}, 1);
  }, std::vector<Tensor>{a});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    std::vector<Tensor> p = split(transpose(in[0], 0, 1), {3, 1}, 0);  // (3, 3), (1, 3)
    return p[0] * p[1];
  }, std::vector<Tensor>{a});
}

TEST_CASE("index_select and masked_fill: gradients with repeats and broadcast masks", "[shape][gradcheck]") {
  Generator gen(13);
  Tensor b = rand64({2, 3, 4}, gen), x = rand64({4, 4}, gen), y = rand64({2, 4, 4}, gen);
  Tensor rep = Tensor::from_ints({3, 0, 3, 3, 1}, {5});
  CHECK_GRADIENTS([rep](const std::vector<Tensor>& in) { return index_select(in[0], -1, rep); },
                  std::vector<Tensor>{b});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    return index_select(in[0], 0, Tensor::from_ints({1, 1, 0}, {3})) *  // (3, 3, 4)
           index_select(transpose(in[0], 0, 1), 1, Tensor::from_ints({0, 1, 1}, {3}));
  }, std::vector<Tensor>{b});
  Tensor col = Tensor::from_bools({false, true, false, true}, {4, 1});
  Tensor row = Tensor::from_bools({true, false, false, false}, {1, 4});
  Tensor causal = Tensor::from_bools({false, true, true, true, false, false, true, true,
                                      false, false, false, true, false, false, false, false}, {4, 4});
  CHECK_GRADIENTS(([col, row](const std::vector<Tensor>& in) {
    return masked_fill(in[0], col, 0.5) * in[0] + masked_fill(transpose(in[0], 0, 1), row, -2.0);
  }), std::vector<Tensor>{x});
  CHECK_GRADIENTS([causal](const std::vector<Tensor>& in) { return masked_fill(in[0], causal, 0.0); },
                  std::vector<Tensor>{y});
}

TEST_CASE("shape ops reject bad input naming the op and the shapes", "[shape][errors]") {
  Tensor x = Tensor::ones({2, 3});
  REQUIRE_THROWS_WITH(reshape(x, {4, -1}), Catch::Contains("reshape") && Catch::Contains("(2, 3)") &&
                                               Catch::Contains("(4, -1)"));
  REQUIRE_THROWS_WITH(reshape(x, {-1, -1}), Catch::Contains("reshape") && Catch::Contains("more than one -1"));
  REQUIRE_THROWS_WITH(transpose(x, 0, 2), Catch::Contains("transpose") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(permute(x, {1, 1}), Catch::Contains("permute") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(permute(x, {0}), Catch::Contains("permute") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(slice(x, 1, 2, 5), Catch::Contains("slice") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(slice(x, 1, 2, 1), Catch::Contains("slice") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(concat({x, Tensor::ones({2, 4})}, 0),
                      Catch::Contains("concat") && Catch::Contains("(2, 3)") && Catch::Contains("(2, 4)"));
  REQUIRE_THROWS_WITH(concat({x, Tensor::ones({2, 3}, DType::F64)}, 0),
                      Catch::Contains("concat") && Catch::Contains("float64(2, 3)"));
  REQUIRE_THROWS_WITH(concat({}, 0), Catch::Contains("concat"));
  REQUIRE_THROWS_WITH(split(x, {1, 1}, 1), Catch::Contains("split") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(index_select(x, 1, Tensor::from_ints({0, 3}, {2})),
                      Catch::Contains("index_select") && Catch::Contains("index 3") &&
                          Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(index_select(x, 1, Tensor::from_ints({0, 1}, {1, 2})),
                      Catch::Contains("index_select") && Catch::Contains("int32(1, 2)"));
  REQUIRE_THROWS_WITH(masked_fill(x, Tensor::from_bools({true, false, true}, {3, 1}), 0),
                      Catch::Contains("masked_fill") && Catch::Contains("(3, 1)") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(masked_fill(x, Tensor::ones({2, 3}), 0),
                      Catch::Contains("masked_fill") && Catch::Contains("float32(2, 3)"));
}
