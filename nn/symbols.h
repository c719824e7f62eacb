// Symbols for relational attention (docs/relational.md, Symbols): the s_j that carry "which object" while the
// relations carry "how they relate". One source is shared by every layer of a model; each layer
// calls forward(x) with its own input x (B, S, d).
//
//   PositionalSymbols(max_len, d):    s_j = symbols[j]                   -> (S, d), batch-shared
//   PositionRelativeSymbols(D, d):    s_ij = symbols[clip(j - i, -D, D) + D]
//                                     -> the whole table (2D+1, d), flagged relative; relational
//                                        attention does the indexing (ops/relational_attention.h)
//   SymbolicAttention(d, n_s, H_s):   q = x Wq + bq;  per head h of size d / H_s,
//                                     s^h = softmax(q^h F^h^T / sqrt(d / H_s)) S_lib^h
//                                     -> (B, S, d), the heads concatenated
//
// Parameter names: `symbols` for every learned symbol table (the positional table, the relative
// table, and SymbolicAttention's library S_lib); SymbolicAttention adds `templates` (F, n_s x d)
// and the Linear `wq`. Tables are initialised N(0, 1), like embeddings.
#pragma once
#include <memory>
#include "autograd/random.h"
#include "nn/linear.h"

namespace dl {

struct Symbols {
  Tensor s;               // (S, d) batch-shared, (B, S, d) per batch item, or a (2D+1, d) table
  bool relative = false;  // s is the position-relative table
};

// The common interface, so a model can hold one source and hand it to every layer.
class SymbolSource : public Module {
 public:
  virtual Symbols forward(const Tensor& x) const = 0;  // x (B, S, d): the layer's input
};

class PositionalSymbols : public SymbolSource {
 public:
  PositionalSymbols(int64_t max_len, int64_t d, Generator& gen, DType dtype = DType::F32);
  Symbols forward(const Tensor& x) const override;  // symbols[:S]; S > max_len throws
  Tensor symbols;                                   // (max_len, d)
};

class PositionRelativeSymbols : public SymbolSource {
 public:
  PositionRelativeSymbols(int64_t max_offset, int64_t d, Generator& gen, DType dtype = DType::F32);
  Symbols forward(const Tensor& x) const override;  // the table; x only checked
  int64_t max_offset;                               // D
  Tensor symbols;                                   // (2D+1, d); row m is offset m - D
};

class SymbolicAttention : public SymbolSource {
 public:
  SymbolicAttention(int64_t d, int64_t n_symbols, int64_t n_heads, Generator& gen,
                    DType dtype = DType::F32);
  Symbols forward(const Tensor& x) const override;
  int64_t n_heads;             // H_s
  std::shared_ptr<Linear> wq;  // d -> d
  Tensor templates;            // F (n_s, d)
  Tensor symbols;              // S_lib (n_s, d)
};

}  // namespace dl
