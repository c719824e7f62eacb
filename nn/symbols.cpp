#include "nn/symbols.h"

#include "nn/init.h"
#include "ops/ops.h"
#include "ops/sdpa.h"

namespace dl {

// x must be (B, S, d).
static void check_input(const char* op, const Tensor& x, int64_t d) {
  DL_CHECK(x.dim() == 3 && x.size(2) == d, op,
           "expected input (B, S, " + std::to_string(d) + "), got " + x.str());
}

static Tensor normal_table(const Shape& shape, Generator& gen, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  init::normal_(t, gen);
  return t;
}

PositionalSymbols::PositionalSymbols(const PositionalSymbolsOptions& o, Generator& gen, DType dtype) {
  DL_CHECK(o.max_len > 0 && o.d > 0, "PositionalSymbols",
           "sizes must be positive, got d " + std::to_string(o.d) + ", max_len " + std::to_string(o.max_len));
  symbols = register_parameter("symbols", normal_table({o.max_len, o.d}, gen, dtype));
}

Symbols PositionalSymbols::forward(const Tensor& x, int64_t offset) const {
  check_input("PositionalSymbols", x, symbols.size(1));
  DL_CHECK(offset >= 0 && offset + x.size(1) <= symbols.size(0), "PositionalSymbols",
           "positions " + std::to_string(offset) + " to " + std::to_string(offset + x.size(1) - 1) + " of " +
               x.str() + " exceed max_len " + std::to_string(symbols.size(0)));
  return {slice(symbols, 0, offset, offset + x.size(1)), false};  // (S, d)
}

PositionRelativeSymbols::PositionRelativeSymbols(const PositionRelativeSymbolsOptions& o, Generator& gen,
                                                 DType dtype)
    : max_offset(o.max_offset) {
  DL_CHECK(o.max_offset >= 0 && o.d > 0, "PositionRelativeSymbols",
           "need d > 0 and max_offset >= 0, got d " + std::to_string(o.d) + ", max_offset " +
               std::to_string(o.max_offset));
  const Shape shape = {2 * o.max_offset + 1, o.d};
  Tensor table = o.xavier ? Tensor::empty(shape, dtype) : normal_table(shape, gen, dtype);
  if (o.xavier) init::xavier_uniform_(table, gen);
  symbols = register_parameter("symbols", table);
}

Symbols PositionRelativeSymbols::forward(const Tensor& x, int64_t) const {
  check_input("PositionRelativeSymbols", x, symbols.size(1));
  return {symbols, true};  // (2D+1, d)
}

SymbolicAttention::SymbolicAttention(const SymbolicAttentionOptions& o, Generator& gen, DType dtype)
    : n_heads(o.heads) {
  const int64_t d = o.d, n_symbols = o.n_symbols;
  DL_CHECK(d > 0 && n_symbols > 0 && n_heads > 0 && d % n_heads == 0, "SymbolicAttention",
           "need positive sizes with d divisible by heads, got d " + std::to_string(d) + ", n_symbols " +
               std::to_string(n_symbols) + ", heads " + std::to_string(n_heads));
  wq = register_module("wq", std::make_shared<Linear>(d, d, gen, true, dtype));
  templates = register_parameter("templates", normal_table({n_symbols, d}, gen, dtype));
  symbols = register_parameter("symbols", normal_table({n_symbols, d}, gen, dtype));
}

// One attention over the library: every (batch item, position) is a query of the same H_s heads,
// so the queries are laid out as one batch of B*S rows, (1, H_s, B S, dk), and sdpa does the rest.
Symbols SymbolicAttention::forward(const Tensor& x, int64_t) const {
  const int64_t d = templates.size(1), n_s = templates.size(0), dk = d / n_heads;
  check_input("SymbolicAttention", x, d);
  const int64_t B = x.size(0), S = x.size(1);
  auto heads = [&](const Tensor& t, int64_t rows) {  // (rows, d) -> (1, H_s, rows, dk)
    return reshape(permute(reshape(t, {rows, n_heads, dk}), {1, 0, 2}), {1, n_heads, rows, dk});
  };
  Tensor q = heads(reshape(wq->forward(x), {B * S, d}), B * S);
  Tensor s = scaled_dot_product_attention(q, heads(templates, n_s), heads(symbols, n_s), {});
  Tensor per_head = reshape(s, {n_heads, B, S, dk});                    // (H_s, B, S, dk)
  return {reshape(permute(per_head, {1, 2, 0, 3}), {B, S, d}), false};  // (B, S, d)
}

}  // namespace dl
