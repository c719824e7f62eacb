#include "tests/testing.h"

#include "autograd/parallel.h"

using namespace dl;
using namespace dl::testing;

TEST_CASE("embedding: rows looked up, ids of any shape", "[embedding]") {
  Tensor table = Tensor::from_vector({0, 1, 10, 11, 20, 21, 30, 31}, {4, 2}, DType::F64).requires_grad_();
  Tensor ids = Tensor::from_ints({3, 0, 3, 1, 1, 2}, {2, 3});
  Tensor out = embedding(table, ids);
  REQUIRE(out.shape() == (Shape{2, 3, 2}));
  require_values(out, {30, 31, 0, 1, 30, 31, 10, 11, 10, 11, 20, 21});
  REQUIRE(embedding(table, Tensor::from_ints({2}, {})).shape() == Shape{2});
  // a strided ids view is read in its logical order
  require_values(embedding(table, transpose(ids, 0, 1)), {30, 31, 10, 11, 0, 1, 10, 11, 30, 31, 20, 21});

  // each row's gradient is the sum over the positions that used it
  out.backward(Tensor::ones({2, 3, 2}, DType::F64));
  require_values(table.grad(), {1, 1, 2, 2, 1, 1, 2, 2});
}

TEST_CASE("embedding: gradients with repeated ids", "[embedding][gradcheck]") {
  Generator gen(21);
  Tensor table = rand64({5, 3}, gen);
  Tensor ids = Tensor::from_ints({4, 4, 0, 2, 4, 0}, {3, 2});
  CHECK_GRADIENTS([ids](const std::vector<Tensor>& in) { return embedding(in[0], ids); },
                  std::vector<Tensor>{table});
  // the same table read twice (as tied input and output embeddings are)
  CHECK_GRADIENTS([ids](const std::vector<Tensor>& in) {
    return embedding(in[0], ids) * embedding(in[0], Tensor::from_ints({1, 1, 1, 3, 2, 4}, {3, 2}));
  }, std::vector<Tensor>{table});
}

TEST_CASE("embedding backward is identical for 1 and 2 threads", "[embedding]") {
  Generator gen(22);
  Tensor table = randn({40, 96}, gen).requires_grad_();
  std::vector<int32_t> v(3000);
  for (int32_t& id : v) id = static_cast<int32_t>(gen.randint(0, 40));
  Tensor ids = Tensor::from_ints(v, {30, 100});
  Tensor g = randn({30, 100, 96}, gen);
  const int threads = num_threads();
  std::vector<std::vector<double>> grads;
  for (int n : {1, 2}) {
    set_num_threads(n);
    table.zero_grad();
    embedding(table, ids).backward(g);
    grads.push_back(table.grad().to_vector());
  }
  set_num_threads(threads);
  REQUIRE(grads[0] == grads[1]);
}

TEST_CASE("embedding rejects bad input naming the op, the id and V", "[embedding][errors]") {
  Tensor table = Tensor::ones({4, 2});
  REQUIRE_THROWS_WITH(embedding(table, Tensor::from_ints({1, 7}, {2})),
                      Catch::Contains("embedding") && Catch::Contains("id 7") && Catch::Contains("V = 4"));
  REQUIRE_THROWS_WITH(embedding(table, Tensor::from_ints({-1}, {1})),
                      Catch::Contains("embedding") && Catch::Contains("id -1"));
  REQUIRE_THROWS_WITH(embedding(table, Tensor::ones({2})),
                      Catch::Contains("embedding") && Catch::Contains("float32(4, 2)") &&
                          Catch::Contains("float32(2)"));
  REQUIRE_THROWS_WITH(embedding(Tensor::ones({4}), Tensor::from_ints({1}, {1})),
                      Catch::Contains("embedding") && Catch::Contains("float32(4)"));
}
