#include "tests/testing.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include "models/checkpoint.h"
#include "models/classifier.h"
#include "models/lm.h"
#include "models/registry.h"
#include "models/transformer.h"
#include "nn/differential_attention.h"
#include "nn/optim.h"

using namespace dl;
using namespace dl::testing;
using json = nlohmann::json;

namespace {

// ---- tiny configurations: d = 8, 2 heads, smooth activations (no kinks for gradcheck) ----

AttentionConfig standard_attention() { return AttentionConfig(); }

AttentionConfig dual_attention(int64_t n_sa, int64_t n_ra, SymbolKind symbols = SymbolKind::Positional) {
  AttentionConfig a;
  a.kind = "dual";
  a.n_sa = n_sa;
  a.n_ra = n_ra;
  a.symbols = symbols;
  a.max_offset = 2;
  a.n_symbols = 3;
  return a;
}

AttentionConfig diff_attention() {
  AttentionConfig a;
  a.kind = "diff";
  return a;
}

AttentionConfig gpam_attention(bool trainable) {
  AttentionConfig a;
  a.kind = "gpam";
  a.lam_trainable = trainable;
  return a;
}

BlockConfig tiny_block(const AttentionConfig& a, bool pre_norm = true, int64_t d = 8) {
  return {d, 2 * d, FFNKind::SwiGLU, pre_norm, 0.1, a};
}

Seq2SeqConfig tiny_seq2seq(const AttentionConfig& a, bool tokens, bool pre_norm, PositionKind positions) {
  Seq2SeqConfig c;
  if (tokens) c.src_vocab = 6;
  else c.src_features = 4;
  c.tgt_vocab = 5;
  c.max_len = 6;
  c.positions = positions;
  c.encoder_layers = c.decoder_layers = 1;
  c.block = tiny_block(a, pre_norm);
  return c;
}

LMConfig tiny_lm(const AttentionConfig& a, int64_t d = 8) {
  LMConfig c;
  c.vocab = 5;
  c.max_len = 4;
  c.layers = 1;
  c.block = {d, 2 * d, FFNKind::GELU, true, 0.0, a};
  return c;
}

ClassifierConfig tiny_classifier(const AttentionConfig& a, Pooling pooling, bool pre_norm) {
  ClassifierConfig c;
  c.in_features = 3;
  c.max_len = 4;
  c.n_classes = 3;
  c.layers = 1;
  c.pooling = pooling;
  c.mlp_hidden = 6;
  c.block = tiny_block(a, pre_norm);
  return c;
}

Tensor random_tokens(const Shape& shape, int32_t lo, int32_t hi, Generator& gen) {
  std::vector<int32_t> v(shape_numel(shape));
  for (int32_t& t : v) t = static_cast<int32_t>(gen.randint(lo, hi));
  return Tensor::from_ints(v, shape);
}

// Checks every parameter (and the float inputs) of a model in float64, in eval mode (no dropout).
void check_model_gradients(Module& model, std::vector<Tensor> inputs,
                           const std::function<Tensor(const std::vector<Tensor>&)>& f) {
  model.to(DType::F64);
  model.eval();
  for (const Tensor& p : model.parameters()) inputs.push_back(p);
  CHECK_GRADIENTS(f, inputs);
}

// Adam on one fixed batch; returns the last loss.
double fit(Module& model, const std::function<Tensor()>& loss_fn, int steps, double lr = 1e-2) {
  Adam opt(model.named_parameters(), AdamOptions{lr});
  double last = 0;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Tensor loss = loss_fn();
    last = loss.item();
    loss.backward();
    opt.step();
  }
  return last;
}

void require_identical(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.to_vector() == b.to_vector());
}


}  // namespace

// ---------------------------------------------------------------- configs

TEST_CASE("model configs: JSON round trip and one line per field", "[models]") {
  Seq2SeqConfig c = tiny_seq2seq(dual_attention(1, 1, SymbolKind::Relative), false, false, PositionKind::Learned);
  c.block.ffn = FFNKind::ReLU;
  const json j = c;
  REQUIRE(j.at("block").at("attention").at("kind") == "dual");
  REQUIRE(j.at("positions") == "learned");
  const Seq2SeqConfig back = j.get<Seq2SeqConfig>();
  REQUIRE(json(back) == j);

  const std::string text = c.str();
  REQUIRE(std::count(text.begin(), text.end(), '\n') == static_cast<long>(j.flatten().size()));
  REQUIRE(text.find("block.attention.kind = dual\n") != std::string::npos);
  REQUIRE(text.find("block.ffn = relu\n") != std::string::npos);
  REQUIRE(text.find("src_features = 4\n") != std::string::npos);

  // a missing key keeps its default
  const LMConfig lm = json{{"vocab", 10}, {"block", {{"attention", {{"kind", "gpam"}}}}}}.get<LMConfig>();
  REQUIRE(lm.vocab == 10);
  REQUIRE(lm.layers == LMConfig().layers);
  REQUIRE(lm.block.attention.kind == "gpam");
  REQUIRE(json(ClassifierConfig()).get<ClassifierConfig>().block.ffn == FFNKind::SwiGLU);
}

TEST_CASE("model configs: impossible values and unknown names are rejected", "[models][errors]") {
  LMConfig lm;
  lm.block.attention.heads = 3;
  REQUIRE_THROWS_WITH(lm.validate(), Catch::Contains("AttentionConfig") && Catch::Contains("3 heads") &&
                                         Catch::Contains("d = 64"));
  lm.block.attention = dual_attention(0, 0);
  REQUIRE_THROWS_WITH(lm.validate(), Catch::Contains("n_sa + n_ra > 0"));
  lm.block.attention = dual_attention(2, 1);
  REQUIRE_THROWS_WITH(lm.validate(), Catch::Contains("3 heads (n_sa + n_ra) do not divide d = 64"));
  lm = LMConfig();
  lm.block.dropout = 1.0;
  REQUIRE_THROWS_WITH(lm.validate(), Catch::Contains("dropout"));
  Generator gen(1);
  lm.block.dropout = 0;
  lm.layers = 0;
  REQUIRE_THROWS_WITH(CausalLM(lm, gen), Catch::Contains("LMConfig") && Catch::Contains("layers must be positive"));

  REQUIRE_THROWS_WITH(json({{"block", {{"attention", {{"kind", "linear"}}}}}}).get<LMConfig>(),
                      Catch::Contains("unknown attention kind 'linear'") && Catch::Contains("block.attention.kind") &&
                          Catch::Contains("standard, dual, gpam, diff"));
  REQUIRE_THROWS_WITH(json({{"heads", 2}}).get<LMConfig>(), Catch::Contains("LMConfig: unknown field 'heads'"));
  REQUIRE_THROWS_WITH(json({{"layers", "two"}}).get<LMConfig>(), Catch::Contains("'layers' must be an integer"));
  REQUIRE_THROWS_WITH(json({{"src_vocab", 5}, {"src_features", 4}}).get<Seq2SeqConfig>(),
                      Catch::Contains("exactly one of src_vocab") && Catch::Contains("5 and 4"));
  REQUIRE_THROWS_WITH(json({{"block", {{"attention", {{"kind", "gpam"}, {"lam_trainable", true}, {"lam", 1.5}}}}}})
                          .get<ClassifierConfig>(),
                      Catch::Contains("trainable lam"));
  REQUIRE_THROWS_WITH(attention_kind("dat"), Catch::Contains("unknown attention kind 'dat'"));
  REQUIRE_THROWS_WITH(model_kind("dual"), Catch::Contains("unknown model 'dual'") && Catch::Contains("transformer, dat, gpam, diff"));
  REQUIRE_THROWS_WITH(bench_attention("dat", 3), Catch::Contains("even head count"));
  REQUIRE_THROWS_WITH(bench_lm_config("transformer", "XXXL"), Catch::Contains("unknown size 'XXXL'"));
}

TEST_CASE("the registry of attention kinds: each entry's preset validates, builds and runs", "[models][registry]") {
  REQUIRE(model_names() == std::vector<std::string>{"transformer", "dat", "gpam", "diff"});
  Generator gen(5);
  const Tensor x = randn({2, 4, 8}, gen);
  for (const AttentionKindEntry& e : attention_kinds()) {
    INFO(e.model);
    REQUIRE(&model_kind(e.model) == &attention_kind(e.kind));
    const AttentionConfig a = model_attention(e.model, {2, 1, 1});
    REQUIRE(a.kind == e.kind);
    REQUIRE(a.total_heads() == 2);
    // the JSON of a config names the kind, and reads back to the same entry
    REQUIRE(json(a)["kind"] == e.kind);
    REQUIRE(json(a).get<AttentionConfig>().kind == e.kind);
    CausalLM model(tiny_lm(a), gen);
    REQUIRE(model.forward(Tensor::from_ints({0, 1, 2, 3}, {1, 4})).shape() == Shape{1, 4, 5});
    REQUIRE(model.attention_maps(0).attention.shape() == Shape{1, e.kind == std::string("dual") ? 1 : 2, 4, 4});
  }
  REQUIRE(model_kind("diff").describe(model_attention("diff", {4, 1, 1})) == "4 heads");
  REQUIRE(model_kind("dat").describe(model_attention("dat", {4, 2, 3})) == "2 sa + 3 ra heads");
  AttentionConfig odd = diff_attention();
  odd.heads = 4;  // d / heads = 2: halves of 1 are fine; 8 / 8 = 1 is not
  odd.validate(8);
  odd.heads = 8;
  REQUIRE_THROWS_WITH(odd.validate(8), Catch::Contains("AttentionConfig") && Catch::Contains("two halves") &&
                                           Catch::Contains("8 / 8"));
}

TEST_CASE("every model builds its parameters in the dtype it is given", "[models]") {
  Generator gen(6);
  auto all_f64 = [](const Module& m) {
    for (const auto& [name, p] : m.named_parameters()) {
      INFO(name);
      REQUIRE(p.dtype() == DType::F64);
    }
  };
  const Classifier classifier(tiny_classifier(dual_attention(1, 1, SymbolKind::Symbolic), Pooling::Mean, true), gen,
                              DType::F64);
  all_f64(classifier);
  const Seq2Seq seq2seq(tiny_seq2seq(diff_attention(), false, true, PositionKind::Learned), gen, DType::F64);
  all_f64(seq2seq);
  const CausalLM lm(tiny_lm(gpam_attention(true)), gen, DType::F64);
  all_f64(lm);
  REQUIRE(CausalLM(tiny_lm(standard_attention()), gen).head->weight.dtype() == DType::F32);  // the default
}

TEST_CASE("bench LM configs build bench.md's model", "[models]") {
  const LMConfig xxl = bench_lm_config("transformer", "XXL");  // the long-context size
  REQUIRE((xxl.vocab == 256 && xxl.max_len == 4096 && xxl.layers == 4 && xxl.block.d == 256 && xxl.block.d_ff == 1024));
  REQUIRE(bench_lm_config("gpam", "XL").max_len == 1024);
  const LMConfig dat = bench_lm_config("dat", "M");
  REQUIRE((dat.vocab == 64 && dat.max_len == 64 && dat.layers == 4 && dat.block.d == 128 && dat.block.d_ff == 512));
  const AttentionConfig& a = dat.block.attention;
  REQUIRE((a.kind == "dual" && a.n_sa == 2 && a.n_ra == 2 && a.n_relations == 0 && a.rel_dim == 0));
  REQUIRE((a.symmetric && a.symbols == SymbolKind::Positional));
  REQUIRE((dat.block.ffn == FFNKind::GELU && dat.block.pre_norm && dat.block.dropout == 0));
  REQUIRE(bench_lm_config("gpam", "L").block.attention.kind == "gpam");
  REQUIRE(bench_lm_config("gpam", "L").block.attention.lam == 0.2);

  // the parameter count of transformer S by docs/bench.md's description: untied embedding, learned
  // positions, every Linear and LayerNorm with a bias
  const int64_t V = 32, T = 16, L = 2, d = 64, f = 256;
  const int64_t block = 2 * 2 * d + 4 * (d * d + d) + (d * f + f) + (f * d + d);
  Generator gen(3);
  CausalLM model(bench_lm_config("transformer", "S"), gen);
  REQUIRE(model.num_parameters() == V * d + T * d + L * block + 2 * d + (d * V + V));
  REQUIRE(model.state_dict().count("stack.blocks.1.self_attn.wq.bias"));
  REQUIRE(model.state_dict().count("stack.blocks.0.ffn.linear2.bias"));
}

// ---------------------------------------------------------------- gradients, end to end

TEST_CASE("Seq2Seq: float64 gradients of every parameter", "[models][gradcheck]") {
  Generator gen(11);
  SECTION("token source, standard attention, pre-norm, learned positions, source padding") {
    Seq2Seq model(tiny_seq2seq(standard_attention(), true, true, PositionKind::Learned), gen);
    const Tensor src = random_tokens({2, 4}, 1, 6, gen), tgt = random_tokens({2, 3}, 0, 5, gen);
    const Tensor pad = Tensor::from_bools({false, false, false, false, false, false, true, true}, {2, 4});
    check_model_gradients(model, {}, [&](const std::vector<Tensor>&) { return model.forward(src, tgt, pad); });
  }
  SECTION("token source, differential attention in encoder and decoder, pre-norm") {
    Seq2Seq model(tiny_seq2seq(diff_attention(), true, true, PositionKind::Sinusoidal), gen);
    REQUIRE(model.state_dict().count("decoder.0.self_attn.subln.weight"));
    const Tensor src = random_tokens({2, 4}, 1, 6, gen), tgt = random_tokens({2, 3}, 0, 5, gen);
    check_model_gradients(model, {}, [&](const std::vector<Tensor>&) { return model.forward(src, tgt); });
  }
  SECTION("feature source, dual attention, post-norm, sinusoidal positions") {
    Seq2Seq model(tiny_seq2seq(dual_attention(1, 1), false, false, PositionKind::Sinusoidal), gen);
    const Tensor src = rand64({2, 3, 4}, gen), tgt = random_tokens({2, 3}, 0, 5, gen);
    check_model_gradients(model, {src}, [&](const std::vector<Tensor>& in) { return model.forward(in[0], tgt); });
  }
}

TEST_CASE("CausalLM: float64 gradients of every parameter", "[models][gradcheck]") {
  Generator gen(12);
  const Tensor tokens = random_tokens({2, 3}, 0, 5, gen);
  SECTION("dual attention (bench.md's dat)") {
    CausalLM model(tiny_lm(bench_attention("dat", 2)), gen);
    check_model_gradients(model, {}, [&](const std::vector<Tensor>&) { return model.forward(tokens); });
  }
  SECTION("differential attention (diff), built in float64, two layers") {
    LMConfig c = tiny_lm(bench_attention("diff", 2));
    c.layers = 2;
    CausalLM model(c, gen, DType::F64);
    for (const auto& [name, p] : model.named_parameters()) REQUIRE(p.dtype() == DType::F64);
    // lam_init follows each block's depth: 0.8 - 0.6 exp(-0.3 l)
    const auto& second = static_cast<const DifferentialAttention&>(*(*model.stack->blocks)[1].self_attn.module());
    REQUIRE(std::fabs(second.lam_init - (0.8 - 0.6 * std::exp(-0.3))) < 1e-15);
    check_model_gradients(model, {}, [&](const std::vector<Tensor>&) { return model.forward(tokens); });
  }
  SECTION("daGPAM with trainable lam") {
    CausalLM model(tiny_lm(gpam_attention(true)), gen);
    REQUIRE(model.state_dict().count("stack.blocks.0.self_attn.theta"));
    check_model_gradients(model, {}, [&](const std::vector<Tensor>&) { return model.forward(tokens); });
  }
}

TEST_CASE("Classifier: float64 gradients of every parameter", "[models][gradcheck]") {
  Generator gen(13);
  const Tensor x = rand64({2, 4, 3}, gen);
  SECTION("dual attention (0, 2), position-relative symbols, mean pooling, pre-norm") {
    Classifier model(tiny_classifier(dual_attention(0, 2, SymbolKind::Relative), Pooling::Mean, true), gen);
    check_model_gradients(model, {x}, [&](const std::vector<Tensor>& in) { return model.forward(in[0]); });
  }
  SECTION("daGPAM, first-token pooling, post-norm") {
    Classifier model(tiny_classifier(gpam_attention(false), Pooling::First, false), gen);
    check_model_gradients(model, {x}, [&](const std::vector<Tensor>& in) { return model.forward(in[0]); });
  }
  SECTION("differential attention, post-norm") {
    Classifier model(tiny_classifier(diff_attention(), Pooling::Mean, false), gen);
    check_model_gradients(model, {x}, [&](const std::vector<Tensor>& in) { return model.forward(in[0]); });
  }
  SECTION("dual attention (1, 1), symbolic attention symbols") {
    Classifier model(tiny_classifier(dual_attention(1, 1, SymbolKind::Symbolic), Pooling::Mean, true), gen);
    check_model_gradients(model, {x}, [&](const std::vector<Tensor>& in) { return model.forward(in[0]); });
  }
  SECTION("official embedding: per-token LayerNorm, cls token, LayerNorm + Linear head; DAT, pre-norm") {
    ClassifierConfig c = tiny_classifier(dual_attention(1, 1), Pooling::Mean, true);
    c.embedding = EmbedKind::Official;
    Classifier model(c, gen);
    check_model_gradients(model, {x}, [&](const std::vector<Tensor>& in) { return model.forward(in[0]); });
  }
  SECTION("official embedding and init, DAT with symbolic attention symbols from the residual stream") {
    ClassifierConfig c = tiny_classifier(dual_attention(1, 1, SymbolKind::Symbolic), Pooling::Mean, true);
    c.embedding = EmbedKind::Official;
    c.block.attention.official = true;
    c.layers = 2;
    Classifier model(c, gen);
    check_model_gradients(model, {x}, [&](const std::vector<Tensor>& in) { return model.forward(in[0]); });
  }
  SECTION("official embedding, standard attention, post-norm") {
    ClassifierConfig c = tiny_classifier(standard_attention(), Pooling::Mean, false);
    c.embedding = EmbedKind::Official;
    Classifier model(c, gen);
    check_model_gradients(model, {x}, [&](const std::vector<Tensor>& in) { return model.forward(in[0]); });
  }
}

TEST_CASE("Classifier, official embedding: its parameters, N + 1 positions, each token normalised", "[models]") {
  Generator gen(14);
  ClassifierConfig c = tiny_classifier(dual_attention(1, 1, SymbolKind::Positional), Pooling::Mean, true);
  c.embedding = EmbedKind::Official;
  Classifier model(c, gen, DType::F64);
  const auto state = model.state_dict();
  for (const char* name : {"patch_norm.weight", "embed.weight", "embed_norm.bias", "cls", "pos.weight",
                           "head_norm.weight", "head.weight", "head.bias"})
    REQUIRE(state.count(name));
  for (const char* name : {"mlp1.weight", "mlp2.weight", "encoder.norm.weight"}) REQUIRE(state.count(name) == 0);
  REQUIRE(state.at("pos.weight").shape() == Shape{5, 8});  // max_len 4 tokens + the cls token
  REQUIRE(state.at("cls").shape() == Shape{8});
  // each token's LayerNorm makes the logits blind to a positive rescaling of every token
  model.eval();
  const Tensor x = rand64({2, 4, 3}, gen);
  const std::vector<double> a = model.forward(x).to_vector(), b = model.forward(x * Tensor::scalar(7.0, DType::F64)).to_vector();
  REQUIRE(a.size() == 6);
  for (size_t i = 0; i < a.size(); ++i) REQUIRE(std::fabs(a[i] - b[i]) < 1e-4);
  // the compact embedding is not
  ClassifierConfig compact = c;
  compact.embedding = EmbedKind::Compact;
  Classifier plain(compact, gen, DType::F64);
  plain.eval();
  REQUIRE(std::fabs(plain.forward(x).to_vector()[0] - plain.forward(x * Tensor::scalar(7.0, DType::F64)).to_vector()[0]) > 1e-3);
  REQUIRE(json(c).get<ClassifierConfig>().embedding == EmbedKind::Official);  // stored and read back
  json old = json(c);
  old.erase("embedding");  // a config stored before the field: compact, as it was built
  REQUIRE(old.get<ClassifierConfig>().embedding == EmbedKind::Compact);
}

// ---------------------------------------------------------------- training

TEST_CASE("each model overfits one small batch", "[models][train]") {
  Generator gen(21);
  SECTION("Seq2Seq copies its source") {
    Seq2SeqConfig c = tiny_seq2seq(standard_attention(), true, true, PositionKind::Sinusoidal);
    c.block = tiny_block(standard_attention(), true, 16);
    c.block.dropout = 0;
    c.tgt_vocab = 6;
    Seq2Seq model(c, gen);
    const Tensor src = random_tokens({4, 5}, 2, 6, gen);
    const Tensor tgt_in = concat({Tensor::full({4, 1}, 1, DType::I32), slice(src, 1, 0, 4)}, 1);
    const double loss = fit(model, [&] { return cross_entropy(model.forward(src, tgt_in), src); }, 60);
    INFO("loss " << loss);
    REQUIRE(loss < 0.05);
    require_identical(model.greedy_decode(src, 1, 5).tokens, src);
  }
  for (const std::string& kind : model_names()) {
    DYNAMIC_SECTION("CausalLM " << kind << " memorises its tokens") {
      CausalLM model(tiny_lm(bench_attention(kind, 2), 16), gen);
      // distinct first tokens: every prefix has one continuation, so the loss can reach 0
      const Tensor tokens = Tensor::from_ints({0, 3, 1, 4, 2, 2, 2, 4, 0, 1}, {2, 5});
      const Tensor inputs = slice(tokens, 1, 0, 4), targets = slice(tokens, 1, 1, 5).contiguous();
      const double loss = fit(model, [&] { return model.loss(inputs, targets); }, 60);
      INFO("loss " << loss);
      REQUIRE(loss < 0.05);
    }
  }
  SECTION("Classifier (DAT (1, 1)) fits random labels") {
    ClassifierConfig c = tiny_classifier(dual_attention(1, 1), Pooling::Mean, true);
    c.block.dropout = 0;
    Classifier model(c, gen);
    const Tensor x = randn({8, 4, 3}, gen), labels = random_tokens({8}, 0, 3, gen);
    const double loss = fit(model, [&] { return cross_entropy(model.forward(x), labels); }, 60);
    INFO("loss " << loss);
    REQUIRE(loss < 0.05);
  }
}

// ---------------------------------------------------------------- decoding

TEST_CASE("greedy decoding with the key/value cache equals re-running the prefix", "[models][decode]") {
  Generator gen(31);
  const Tensor src = random_tokens({3, 4}, 2, 6, gen);
  const Tensor pad = padding_mask(Tensor::from_ints({2, 3, 4, 5, 2, 3, 0, 0, 4, 4, 4, 0}, {3, 4}), 0);
  struct Case {
    const char* name;
    AttentionConfig attention;
    bool pre_norm;
  };
  for (const Case& k : {Case{"standard attention, pre-norm", standard_attention(), true},
                        Case{"daGPAM, post-norm", gpam_attention(true), false},
                        Case{"DAT (1, 1), positional symbols, pre-norm", dual_attention(1, 1), true},
                        Case{"DAT (1, 1), position-relative symbols, post-norm",
                             dual_attention(1, 1, SymbolKind::Relative), false},
                        Case{"DAT (1, 1), symbolic attention symbols, pre-norm",
                             dual_attention(1, 1, SymbolKind::Symbolic), true},
                        Case{"DAT (0, 2), relational heads only, positional symbols", dual_attention(0, 2), true},
                        Case{"DAT (2, 0), sensory heads only", dual_attention(2, 0), false},
                        Case{"differential attention, pre-norm", diff_attention(), true}}) {
    DYNAMIC_SECTION(k.name) {
      Seq2SeqConfig c = tiny_seq2seq(k.attention, true, k.pre_norm, PositionKind::Sinusoidal);
      c.decoder_layers = 2;
      Seq2Seq model(c, gen);
      const Decoded cached = model.greedy_decode(src, 1, 6, pad), full = model.greedy_decode_uncached(src, 1, 6, pad);
      REQUIRE(cached.tokens.shape() == Shape{3, 6});
      REQUIRE(cached.logits.shape() == Shape{3, 6, 5});
      require_identical(cached.tokens, full.tokens);
      REQUIRE(max_abs_diff(cached.logits, full.logits) < 1e-6);
      REQUIRE(model.training());  // decoding restores the mode

      // teacher forcing on the decoded prefix gives the same logits
      model.eval();
      const Tensor tgt_in = concat({Tensor::full({3, 1}, 1, DType::I32), slice(cached.tokens, 1, 0, 5)}, 1);
      REQUIRE(max_abs_diff(model.forward(src, tgt_in, pad), full.logits) < 1e-5);

      model.to(DType::F64);
      const Decoded cached64 = model.greedy_decode(src, 1, 6, pad), full64 = model.greedy_decode_uncached(src, 1, 6, pad);
      require_identical(cached64.tokens, full64.tokens);
      REQUIRE(max_abs_diff(cached64.logits, full64.logits) < 1e-12);
    }
  }
}

// One decoder block run on a sequence in chunks (3, 1, 2 positions) with a cache gives the rows of
// one causal pass over all of it, for every kind of self-attention: the cache plumbing below the
// model, with prompts longer than one position.
TEST_CASE("a decoder block with a DecoderCache equals the causal pass, chunk by chunk", "[models][decode]") {
  Generator gen(33);
  for (const AttentionConfig& a : {standard_attention(), gpam_attention(false), diff_attention(),
                                   dual_attention(1, 1), dual_attention(1, 1, SymbolKind::Relative),
                                   dual_attention(1, 1, SymbolKind::Symbolic)}) {
    DYNAMIC_SECTION(a.kind << " attention, symbols " << static_cast<int>(a.symbols)) {
      BlockConfig c = tiny_block(a);
      c.dropout = 0;
      DecoderBlock block(c, 1, make_symbol_source(a, 6, 8, gen, DType::F64), gen, DType::F64);
      const Tensor x = rand64({2, 6, 8}, gen, 1, false), memory = rand64({2, 3, 8}, gen, 1, false);
      const Tensor full = block.forward(x, memory);
      DecoderCache cache;
      int64_t done = 0;
      for (int64_t chunk : {3, 1, 2}) {
        const Tensor rows = block.forward(slice(x, 1, done, done + chunk), memory, {}, &cache);
        REQUIRE(max_abs_diff(rows, slice(full, 1, done, done + chunk)) < 1e-12);
        done += chunk;
        REQUIRE(cache.self.length() == done);
        REQUIRE(cache.cross.length() == 3);  // the memory, projected once
      }
    }
  }
}

// Decoding with the caches at a size where the products and the attention loops split into
// several pieces (d 64, batch 32): the same logits, bit for bit, on 1 and 2 threads.
TEST_CASE("cached greedy decoding is bitwise identical on 1 and 2 threads", "[models][decode][threads]") {
  ThreadCountGuard guard;
  for (const AttentionConfig& a : {standard_attention(), dual_attention(1, 1)}) {
    DYNAMIC_SECTION(a.kind << " attention") {
      Generator gen(34);
      Seq2SeqConfig c = tiny_seq2seq(a, false, true, PositionKind::Sinusoidal);
      c.block = tiny_block(a, true, 64);
      c.max_len = 8;
      c.decoder_layers = 2;
      Seq2Seq model(c, gen);
      const Tensor src = randn({32, 8, 4}, gen);
      set_num_threads(1);
      const std::vector<double> one = model.greedy_decode(src, 1, 8).logits.to_vector();
      set_num_threads(2);
      const std::vector<double> two = model.greedy_decode(src, 1, 8).logits.to_vector();
      REQUIRE(one == two);
    }
  }
}

TEST_CASE("decoding rejects bad calls", "[models][decode][errors]") {
  Generator gen(32);
  Seq2Seq model(tiny_seq2seq(standard_attention(), true, true, PositionKind::Sinusoidal), gen);
  const Tensor src = random_tokens({2, 3}, 2, 6, gen);
  REQUIRE_THROWS_WITH(model.greedy_decode(src, 1, 7), Catch::Contains("greedy_decode") && Catch::Contains("max_len = 6"));
  DecoderBlock block(tiny_block(dual_attention(1, 1)), 0, std::make_shared<PositionalSymbols>(PositionalSymbolsOptions().with_d(8).with_max_len(4), gen), gen);
  DecoderCache cache;
  block.forward(randn({2, 1, 8}, gen), randn({2, 3, 8}, gen), {}, &cache);
  // a cache holds one batch: a step of another batch size is refused, naming both shapes
  REQUIRE_THROWS_WITH(block.forward(randn({3, 1, 8}, gen), randn({2, 3, 8}, gen), {}, &cache),
                      Catch::Contains("KVCache") && Catch::Contains("(3, 1, 1, 4)") && Catch::Contains("(2, 1, 1, 4)"));
  // the memory's keys are cached: another memory is refused, before any cache grows
  for (const Shape& other : {Shape{2, 5, 8}, Shape{3, 3, 8}})
    REQUIRE_THROWS_WITH(block.forward(randn({2, 1, 8}, gen), randn(other, gen), {}, &cache),
                        Catch::Contains("DecoderBlock") && Catch::Contains("is not the one whose keys are cached") &&
                            Catch::Contains("(2, 2, 3, 4)"));
  // positional symbols run out at max_len, counting the cached positions
  block.forward(randn({2, 2, 8}, gen), randn({2, 3, 8}, gen), {}, &cache);
  REQUIRE_THROWS_WITH(block.forward(randn({2, 2, 8}, gen), randn({2, 3, 8}, gen), {}, &cache),
                      Catch::Contains("PositionalSymbols") && Catch::Contains("positions 3 to 4") &&
                          Catch::Contains("max_len 4"));
}

// ---------------------------------------------------------------- heatmaps and bad inputs

TEST_CASE("models expose each layer's attention maps", "[models]") {
  Generator gen(41);
  SECTION("CausalLM with dual attention: sensory and relational maps, relations") {
    LMConfig c = tiny_lm(dual_attention(1, 1));
    c.layers = 2;
    CausalLM model(c, gen);
    model.forward(random_tokens({2, 4}, 0, 5, gen));
    for (size_t l = 0; l < 2; ++l) {
      const AttentionMaps m = model.attention_maps(l);
      REQUIRE(m.attention.shape() == Shape{2, 1, 4, 4});
      REQUIRE(m.relational.shape() == Shape{2, 1, 4, 4});
      REQUIRE(m.relations.shape() == Shape{2, 4, 4, 1});
      REQUIRE(m.relational.at({1, 0, 1, 2}) == 0.0);  // causal
      require_values(sum(m.attention, {3}), std::vector<double>(8, 1.0), 1e-6);
    }
  }
  SECTION("Seq2Seq: encoder, decoder self- and cross-attention; padded keys get no weight") {
    Seq2Seq model(tiny_seq2seq(gpam_attention(false), true, true, PositionKind::Sinusoidal), gen);
    const Tensor pad = Tensor::from_bools({false, false, true, false, false, false}, {2, 3});
    model.forward(random_tokens({2, 3}, 2, 6, gen), random_tokens({2, 2}, 0, 5, gen), pad);
    REQUIRE(model.encoder_attention(0).attention.shape() == Shape{2, 2, 3, 3});
    REQUIRE(model.decoder_self_attention(0).attention.shape() == Shape{2, 2, 2, 2});
    const Tensor& cross = model.decoder_cross_attention(0);
    REQUIRE(cross.shape() == Shape{2, 2, 2, 3});
    REQUIRE(cross.at({0, 1, 1, 2}) == 0.0);
    REQUIRE(!model.encoder_attention(0).relations.defined());
  }
}

TEST_CASE("models reject inputs of the wrong shape or type", "[models][errors]") {
  Generator gen(42);
  Classifier classifier(tiny_classifier(standard_attention(), Pooling::Mean, true), gen);
  REQUIRE_THROWS_WITH(classifier.forward(randn({2, 3, 5}, gen)),
                      Catch::Contains("Classifier") && Catch::Contains("(2, 3, 5)") && Catch::Contains("(B, N, 3)"));
  Seq2Seq seq(tiny_seq2seq(standard_attention(), true, true, PositionKind::Sinusoidal), gen);
  REQUIRE_THROWS_WITH(seq.forward(randn({2, 3, 4}, gen), random_tokens({2, 2}, 0, 5, gen)),
                      Catch::Contains("Seq2Seq") && Catch::Contains("float32(2, 3, 4)"));
  CausalLM lm(tiny_lm(standard_attention()), gen);
  REQUIRE_THROWS_WITH(lm.forward(random_tokens({2, 5}, 0, 5, gen)), Catch::Contains("T = 5 exceeds max_len = 4"));
  REQUIRE_THROWS_WITH(lm.forward(randn({2, 3}, gen)), Catch::Contains("CausalLM") && Catch::Contains("float32(2, 3)"));
}

// ---------------------------------------------------------------- checkpoints

TEST_CASE("a saved model reloads from its stored config with identical outputs", "[models][checkpoint]") {
  Generator gen(51);
  TempDir dir;
  SECTION("Seq2Seq (DAT, feature source), with the optimizer's state") {
    Seq2Seq model(tiny_seq2seq(dual_attention(1, 1), false, true, PositionKind::Learned), gen);
    const Tensor src = randn({2, 3, 4}, gen), tgt = random_tokens({2, 3}, 0, 5, gen);
    Adam opt(model.named_parameters(), AdamOptions{});
    cross_entropy(model.forward(src, tgt), tgt).backward();
    opt.step();
    const std::string path = dir.file("seq2seq.safetensors");
    save_model(path, model, &opt, 7, {{"task", "sorting"}});
    auto loaded = load_model<Seq2Seq>(path);
    model.eval();
    loaded->eval();
    require_identical(loaded->forward(src, tgt), model.forward(src, tgt));

    Adam opt2(loaded->named_parameters(), AdamOptions{});
    const CheckpointInfo info = load_model_into(path, *loaded, &opt2);
    REQUIRE(info.step == 7);
    REQUIRE(opt2.step_count() == 1);
    REQUIRE(info.metadata == std::map<std::string, std::string>{{"task", "sorting"}});
  }
  SECTION("CausalLM (daGPAM with trainable lam)") {
    CausalLM model(tiny_lm(gpam_attention(true)), gen);
    const Tensor tokens = random_tokens({2, 4}, 0, 5, gen);
    fit(model, [&] { return model.loss(tokens, tokens); }, 1);
    const std::string path = dir.file("lm.safetensors");
    save_model(path, model);
    require_identical(load_model<CausalLM>(path)->forward(tokens), model.forward(tokens));
  }
  SECTION("Classifier (DAT, symbolic attention symbols), and wrong kinds or configs are refused") {
    Classifier model(tiny_classifier(dual_attention(1, 1, SymbolKind::Symbolic), Pooling::First, false), gen);
    model.eval();
    const Tensor x = randn({2, 4, 3}, gen);
    const std::string path = dir.file("classifier.safetensors");
    save_model(path, model);
    auto loaded = load_model<Classifier>(path);
    loaded->eval();
    require_identical(loaded->forward(x), model.forward(x));

    REQUIRE_THROWS_WITH(load_model<CausalLM>(path), Catch::Contains(path) &&
                                                        Catch::Contains("holds a 'classifier' model, not a 'lm'"));
    ClassifierConfig other = model.config;
    other.n_classes = 4;
    other.block.attention.symbols = SymbolKind::Positional;
    Classifier different(other, gen);
    REQUIRE_THROWS_WITH(load_model_into(path, different),
                        Catch::Contains("classifier config differs") &&
                            Catch::Contains("n_classes = 3 in the checkpoint, 4 in the model") &&
                            Catch::Contains("block.attention.symbols = \"symbolic\" in the checkpoint"));
    const std::string plain = dir.file("plain.safetensors");
    save_checkpoint(plain, model, nullptr, 0);
    REQUIRE_THROWS_WITH(load_model<Classifier>(plain), Catch::Contains("no model kind and config"));
  }
}
