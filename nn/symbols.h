// Symbols for relational attention (docs/relational.md, Symbols): the s_j that carry "which object" while the
// relations carry "how they relate". One source is shared by every layer of a model; each layer
// calls forward(x) with its own input x (B, S, d). Decoding with a cache passes only the new
// positions and, as offset, how many come before them: positional symbols are then
// symbols[offset : offset + S]; the other two sources do not depend on where x starts (the relative
// table is indexed by relational attention, which knows the query offset from its mask).
//
//   PositionalSymbols {d, max_len}:      s_j = symbols[j]                -> (S, d), batch-shared
//   PositionRelativeSymbols {d, D}:      s_ij = symbols[clip(j - i, -D, D) + D]
//                                        -> the whole table (2D+1, d), flagged relative; relational
//                                           attention does the indexing (ops/relational_attention.h)
//   SymbolicAttention {d, n_s, H_s}:     q = x Wq + bq;  per head h of size d / H_s,
//                                     s^h = softmax(q^h F^h^T / sqrt(d / H_s)) S_lib^h
//                                     -> (B, S, d), the heads concatenated
//
// Parameter names: `symbols` for every learned symbol table (the positional table, the relative
// table, and SymbolicAttention's library S_lib); SymbolicAttention adds `templates` (F, n_s x d)
// and the Linear `wq`. Tables are initialised N(0, 1), like embeddings.
//
// Each source takes its sizes in an options struct whose every size is set by name, so that
// sizes cannot be swapped silently (a size left unset is 0 and refused):
//   SymbolicAttention(SymbolicAttentionOptions().with_d(64).with_n_symbols(16).with_heads(4), gen)
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
  // x (B, S, d): the layer's input, positions offset .. offset + S - 1
  virtual Symbols forward(const Tensor& x, int64_t offset = 0) const = 0;
};

// (explicit constructors: no positional {...}, every size named)
struct PositionalSymbolsOptions {
  explicit PositionalSymbolsOptions() = default;
  int64_t d = 0;        // width
  int64_t max_len = 0;  // positions
  PositionalSymbolsOptions& with_d(int64_t v) { d = v; return *this; }
  PositionalSymbolsOptions& with_max_len(int64_t v) { max_len = v; return *this; }
};

struct PositionRelativeSymbolsOptions {
  explicit PositionRelativeSymbolsOptions() = default;
  int64_t d = 0;           // width
  int64_t max_offset = 0;  // D: offsets clip to [-D, D]
  bool xavier = false;     // the table ~ Xavier-uniform (the DAT code's), else N(0, 1)
  PositionRelativeSymbolsOptions& with_d(int64_t v) { d = v; return *this; }
  PositionRelativeSymbolsOptions& with_max_offset(int64_t v) { max_offset = v; return *this; }
  PositionRelativeSymbolsOptions& with_xavier(bool v) { xavier = v; return *this; }
};

struct SymbolicAttentionOptions {
  explicit SymbolicAttentionOptions() = default;
  int64_t d = 0;          // width
  int64_t n_symbols = 0;  // n_s, the library size
  int64_t heads = 1;      // H_s
  SymbolicAttentionOptions& with_d(int64_t v) { d = v; return *this; }
  SymbolicAttentionOptions& with_n_symbols(int64_t v) { n_symbols = v; return *this; }
  SymbolicAttentionOptions& with_heads(int64_t v) { heads = v; return *this; }
};

class PositionalSymbols : public SymbolSource {
 public:
  PositionalSymbols(const PositionalSymbolsOptions& options, Generator& gen, DType dtype = DType::F32);
  Symbols forward(const Tensor& x, int64_t offset = 0) const override;  // symbols[offset : offset + S]; past max_len throws
  Tensor symbols;                                   // (max_len, d)
};

class PositionRelativeSymbols : public SymbolSource {
 public:
  PositionRelativeSymbols(const PositionRelativeSymbolsOptions& options, Generator& gen, DType dtype = DType::F32);
  Symbols forward(const Tensor& x, int64_t offset = 0) const override;  // the table; x only checked
  int64_t max_offset;                               // D
  Tensor symbols;                                   // (2D+1, d); row m is offset m - D
};

class SymbolicAttention : public SymbolSource {
 public:
  SymbolicAttention(const SymbolicAttentionOptions& options, Generator& gen, DType dtype = DType::F32);
  Symbols forward(const Tensor& x, int64_t offset = 0) const override;  // of x alone; offset unused
  int64_t n_heads;             // H_s
  std::shared_ptr<Linear> wq;  // d -> d
  Tensor templates;            // F (n_s, d)
  Tensor symbols;              // S_lib (n_s, d)
};

}  // namespace dl
