#include "models/registry.h"

#include "nn/differential_attention.h"
#include "nn/dual_attention.h"
#include "nn/gpam_attention.h"

namespace dl {

namespace {

const char* kOp = "AttentionConfig";

// ---- checks and pieces several kinds share ----

int64_t plain_heads(const AttentionConfig& c) { return c.heads; }
std::string heads_text(const AttentionConfig& c) { return std::to_string(c.heads) + " heads"; }

void check_heads_divide(const AttentionConfig& c, int64_t d, const std::string& which) {
  DL_CHECK(d % c.total_heads() == 0, kOp,
           std::to_string(c.total_heads()) + " heads" + which + " do not divide d = " + std::to_string(d));
}

void validate_heads(const AttentionConfig& c, int64_t d) {
  require_positive(kOp, {{"heads", c.heads}});
  check_heads_divide(c, d, "");
}

std::shared_ptr<SymbolSource> no_symbols(const AttentionConfig&, int64_t, const AttentionSite&, Generator&) {
  return nullptr;
}

AttentionConfig of_kind(const char* kind, const HeadCounts& h) {
  AttentionConfig a;
  a.kind = kind;
  a.heads = h.heads;
  return a;
}

// ---- standard: multi-head softmax attention ----

AttentionConfig standard_preset(const HeadCounts& h) { return of_kind("standard", h); }

std::shared_ptr<Module> build_standard(const AttentionConfig& c, const AttentionSite& s, Generator& gen) {
  return std::make_shared<MultiHeadAttention>(s.d, c.heads, gen, s.dtype);
}

// The standard KVCache of a layer's DecodingCache, or null when not decoding.
KVCache* kv_of(DecodingCache* cache) { return cache ? &cache->kv : nullptr; }

Tensor forward_standard(Module& m, const Tensor& x, const Symbols&, const AttentionMask& mask, DecodingCache* cache) {
  return static_cast<MultiHeadAttention&>(m).forward(x, mask, kv_of(cache));
}

AttentionMaps maps_standard(const Module& m) { return {static_cast<const MultiHeadAttention&>(m).last_attention(), {}, {}}; }

// ---- dual: the DAT's sensory and relational heads (docs/tasks.md's DAT: symmetric relations,
// positional symbols) ----

AttentionConfig dual_preset(const HeadCounts& h) {
  AttentionConfig a = of_kind("dual", h);
  a.n_sa = h.n_sa;
  a.n_ra = h.n_ra;
  a.symmetric = true;
  a.symbols = SymbolKind::Positional;
  return a;
}

int64_t dual_heads(const AttentionConfig& c) { return c.n_sa + c.n_ra; }

std::string dual_text(const AttentionConfig& c) {
  return std::to_string(c.n_sa) + " sa + " + std::to_string(c.n_ra) + " ra heads";
}

void validate_dual(const AttentionConfig& c, int64_t d) {
  DL_CHECK(c.n_sa >= 0 && c.n_ra >= 0 && c.n_sa <= d && c.n_ra <= d && c.n_sa + c.n_ra > 0, kOp,
           "dual attention needs 0 <= n_sa, n_ra <= d and n_sa + n_ra > 0, got n_sa " + std::to_string(c.n_sa) +
               ", n_ra " + std::to_string(c.n_ra));
  DL_CHECK(c.n_relations >= 0 && c.rel_dim >= 0, kOp,
           "n_relations and rel_dim must not be negative (0 means the default), got " +
               std::to_string(c.n_relations) + ", " + std::to_string(c.rel_dim));
  if (c.symbols == SymbolKind::Relative)
    DL_CHECK(c.max_offset >= 0, kOp, "max_offset must not be negative, got " + std::to_string(c.max_offset));
  if (c.symbols == SymbolKind::Symbolic) {
    require_positive(kOp, {{"n_symbols", c.n_symbols}, {"symbol_heads", c.symbol_heads}});
    DL_CHECK(d % c.symbol_heads == 0, kOp,
             std::to_string(c.symbol_heads) + " symbol_heads do not divide d = " + std::to_string(d));
  }
  check_heads_divide(c, d, " (n_sa + n_ra)");
}

std::shared_ptr<SymbolSource> dual_symbols(const AttentionConfig& c, int64_t max_len, const AttentionSite& s,
                                           Generator& gen) {
  if (c.n_ra == 0) return nullptr;
  switch (c.symbols) {
    case SymbolKind::Positional: return std::make_shared<PositionalSymbols>(PositionalSymbolsOptions().with_d(s.d).with_max_len(max_len), gen, s.dtype);
    case SymbolKind::Relative:
      return std::make_shared<PositionRelativeSymbols>(
          PositionRelativeSymbolsOptions().with_d(s.d).with_max_offset(c.max_offset).with_xavier(c.official), gen,
          s.dtype);
    case SymbolKind::Symbolic:
      return std::make_shared<SymbolicAttention>(
          SymbolicAttentionOptions().with_d(s.d).with_n_symbols(c.n_symbols).with_heads(c.symbol_heads), gen, s.dtype);
  }
  return nullptr;
}

std::shared_ptr<Module> build_dual(const AttentionConfig& c, const AttentionSite& s, Generator& gen) {
  RelationalAttentionOptions o;
  o.n_relations = c.n_relations;
  o.rel_dim = c.rel_dim;
  o.symmetric = c.symmetric;
  o.wr_fan_in = c.official;
  return std::make_shared<DualAttention>(
      DualAttentionOptions().with_d(s.d).with_n_sa(c.n_sa).with_n_ra(c.n_ra).with_relational(o), gen, s.dtype);
}

Tensor forward_dual(Module& m, const Tensor& x, const Symbols& symbols, const AttentionMask& mask,
                    DecodingCache* cache) {
  auto& dual = static_cast<DualAttention&>(m);
  DL_CHECK(dual.n_ra == 0 || symbols.s.defined(), "SelfAttention", "relational heads need a symbol source");
  return dual.forward(x, symbols, mask, kv_of(cache), cache ? &cache->relational : nullptr);
}

AttentionMaps maps_dual(const Module& m) {
  const auto& dual = static_cast<const DualAttention&>(m);
  AttentionMaps maps;
  if (dual.sa) maps.attention = dual.sa->last_attention();
  if (dual.ra) {
    maps.relational = dual.ra->last_attention();
    maps.relations = dual.ra->last_relations();
  }
  return maps;
}

// ---- gpam: daGPAM, a fixed or trainable lam per head ----

AttentionConfig gpam_preset(const HeadCounts& h) { return of_kind("gpam", h); }

void validate_gpam(const AttentionConfig& c, int64_t d) {
  validate_heads(c, d);
  if (c.lam_trainable)
    DL_CHECK(0 < c.lam && c.lam < c.lam_max, kOp,
             "a trainable lam must start inside (0, lam_max), got lam " + std::to_string(c.lam) + ", lam_max " +
                 std::to_string(c.lam_max));
}

std::shared_ptr<Module> build_gpam(const AttentionConfig& c, const AttentionSite& s, Generator& gen) {
  return std::make_shared<GPAMAttention>(s.d, c.heads, gen, GPAMOptions().with_lam(c.lam).with_trainable(c.lam_trainable).with_lam_max(c.lam_max), s.dtype);
}

Tensor forward_gpam(Module& m, const Tensor& x, const Symbols&, const AttentionMask& mask, DecodingCache* cache) {
  return static_cast<GPAMAttention&>(m).forward(x, mask, kv_of(cache));
}

AttentionMaps maps_gpam(const Module& m) { return {static_cast<const GPAMAttention&>(m).last_attention(), {}, {}}; }

// ---- diff: differential attention, lam_init by the block's depth ----

AttentionConfig diff_preset(const HeadCounts& h) { return of_kind("diff", h); }

void validate_diff(const AttentionConfig& c, int64_t d) {
  validate_heads(c, d);
  DL_CHECK((d / c.heads) % 2 == 0, kOp,
           "differential attention splits each head in two halves: d / heads = " + std::to_string(d) + " / " +
               std::to_string(c.heads) + " must be even");
}

std::shared_ptr<Module> build_diff(const AttentionConfig& c, const AttentionSite& s, Generator& gen) {
  return std::make_shared<DifferentialAttention>(
      DifferentialAttentionOptions().with_d(s.d).with_heads(c.heads).with_layer(s.layer), gen, s.dtype);
}

Tensor forward_diff(Module& m, const Tensor& x, const Symbols&, const AttentionMask& mask, DecodingCache* cache) {
  return static_cast<DifferentialAttention&>(m).forward(x, mask, kv_of(cache));
}

AttentionMaps maps_diff(const Module& m) {
  return {static_cast<const DifferentialAttention&>(m).last_attention(), {}, {}};
}

template <class F> const AttentionKindEntry& find(const std::string& name, const char* noun, F&& name_of) {
  std::string choices;
  for (const AttentionKindEntry& e : attention_kinds()) {
    if (name == name_of(e)) return e;
    choices += std::string(choices.empty() ? "" : ", ") + name_of(e);
  }
  throw Error(std::string("unknown ") + noun + " '" + name + "' (expected one of " + choices + ")");
}

}  // namespace

const std::vector<AttentionKindEntry>& attention_kinds() {
  static const std::vector<AttentionKindEntry> table = {
      {"standard", "transformer", standard_preset, plain_heads, heads_text, validate_heads, no_symbols,
       build_standard, forward_standard, maps_standard},
      {"dual", "dat", dual_preset, dual_heads, dual_text, validate_dual, dual_symbols, build_dual,
       forward_dual, maps_dual},
      {"gpam", "gpam", gpam_preset, plain_heads, heads_text, validate_gpam, no_symbols, build_gpam,
       forward_gpam, maps_gpam},
      {"diff", "diff", diff_preset, plain_heads, heads_text, validate_diff, no_symbols, build_diff,
       forward_diff, maps_diff},
  };
  return table;
}

const AttentionKindEntry& attention_kind(const std::string& kind) {
  return find(kind, "attention kind", [](const AttentionKindEntry& e) { return e.kind; });
}

const AttentionKindEntry& model_kind(const std::string& model) {
  return find(model, "model", [](const AttentionKindEntry& e) { return e.model; });
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const AttentionKindEntry& e : attention_kinds()) names.emplace_back(e.model);
  return names;
}

AttentionConfig model_attention(const std::string& model, const HeadCounts& h) { return model_kind(model).preset(h); }

}  // namespace dl
