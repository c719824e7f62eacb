// DualAttention (docs/relational.md, Dual attention): n_sa sensory heads and n_ra relational heads side by side, all
// of size dh = d / (n_sa + n_ra), on x (B, T, d) with symbols from a SymbolSource:
//
//   e   = sa(x, x, mask)         MultiHeadAttention: Wq, Wk, Wv d -> n_sa dh, Wo n_sa dh -> n_sa dh
//   a   = ra(x, symbols, mask)   RelationalAttention: projections d -> n_ra dh, Wo n_ra dh -> n_ra dh
//   out = concat(e, a)           (B, T, d)
//
// Submodules `sa` (nn/attention.h) and `ra` (nn/relational_attention.h); either is absent (null)
// when its head count is 0. The mask (causal, key padding) applies to both kinds of heads. The
// attention matrices and relations of the last forward are sa->last_attention(),
// ra->last_attention() and ra->last_relations(). The relational options (d_r, dp, symmetric,
// RCA, bias) go to ra; its head_dim is always dh.
#pragma once
#include <memory>
#include "nn/attention.h"
#include "nn/relational_attention.h"

namespace dl {

class DualAttention : public Module {
 public:
  DualAttention(int64_t d, int64_t n_sa, int64_t n_ra, Generator& gen,
                const RelationalAttentionOptions& ra_options = {}, DType dtype = DType::F32);

  // x (B, T, d) -> (B, T, d); symbols are unused when n_ra = 0
  Tensor forward(const Tensor& x, const Symbols& symbols, const AttentionMask& mask = {});

  int64_t d, n_sa, n_ra, head_dim;
  std::shared_ptr<MultiHeadAttention> sa;   // null when n_sa = 0
  std::shared_ptr<RelationalAttention> ra;  // null when n_ra = 0
};

}  // namespace dl
