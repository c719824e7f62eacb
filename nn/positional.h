// Positional encodings added to token embeddings, x (..., T, d) -> x + PE[:T] (broadcast over the
// leading axes). T > max_len is an error.
//   Sinusoidal: PE[pos, 2i] = sin(pos / 10000^(2i/d)),  PE[pos, 2i+1] = cos(pos / 10000^(2i/d));
//               a fixed table, not a parameter (so absent from the state dict).
//   Learned:    PE = weight (max_len, d), an embedding table ~ N(0, 1), trained.
#pragma once
#include "autograd/random.h"
#include "nn/module.h"

namespace dl {

class SinusoidalPositionalEncoding : public Module {
 public:
  SinusoidalPositionalEncoding(int64_t max_len, int64_t d);
  Tensor forward(const Tensor& x) const;
  Tensor encoding(int64_t T, DType dtype) const;  // PE[:T] (T, d), in the requested dtype

 private:
  Tensor table_;  // (max_len, d) float64, converted to the input's dtype on use
};

class LearnedPositionalEncoding : public Module {
 public:
  LearnedPositionalEncoding(int64_t max_len, int64_t d, Generator& gen, DType dtype = DType::F32);
  Tensor forward(const Tensor& x) const;
  Tensor weight;  // (max_len, d)
};

}  // namespace dl
