#!/usr/bin/env python3
"""Parity goldens for the mirlens token language models and tokenizers.

Pinned reference versions: transformers 5.23.0, torch 2.11.0, tokenizers 0.23.3, safetensors 0.8.0, numpy 2.4.6
(run with /work/pyref/bin/python or any environment with exactly these versions). Everything is seeded; nothing
is downloaded.

Writes, next to this file:

    tokenizers/<name>/tokenizer.json, tokenizer_config.json   tokenizers trained here on a generated bilingual
                                                              (Japanese / English) template corpus
    tokenizers/expected.json                                  per tokenizer and text: ids, tokens and character
                                                              offsets of AutoTokenizer(dir)(text,
                                                              add_special_tokens=True, return_offsets_mapping=True)
    models/<case>/config.json, model.safetensors              tiny random models (save_pretrained)
    models/<case>/taps.safetensors                            (TAP_CASES) finer taps of every block for the same batch:
                                                              attn_out, resid_mid, mlp_out [L,B,T,d] (hooks)
    models/<case>/text_expected.safetensors                   (cases with a tokenizer.json) EMBED_TEXT encoded by
                                                              AutoTokenizer: input_ids [T], offsets [T,2] (chars),
                                                              hidden_states [L+1,T,d]
    models/<case>/expected.safetensors                        a right-padded batch of two sequences:
        input_ids [B,T] int64, attention_mask [B,T] int64, hidden_states [L+1,B,T,d] (output_hidden_states=True),
        pre_final_norm [B,T,d] (raw output of the last block), logits [B,T,V] (causal LMs),
        loss [] (labels = input_ids with padding -100, causal LMs)
      metadata: transformers / torch versions, model_type

Every model runs in float32 with attn_implementation="eager" and .eval(); checkpoints stored in f16 / bf16 are
compared against transformers running those same weights upcast to float32 (the dtype mirlens computes in).

Weights are re-drawn after init with a larger spread (matrices N(0, 0.15²)·(in)^-½·8, biases 0.1 N(0,1), norm
weights 1 + 0.1 N(0,1)) so attention is far from uniform and swapped tensors are visible.

    python generate.py              # keeps the committed tokenizer.json files, regenerates everything else
    python generate.py --retrain    # retrains the tokenizers too (vocabularies then differ run to run)
"""

import json
import os
import shutil
import sys

import numpy as np
import tokenizers
import torch
import transformers
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
RETRAIN = "--retrain" in sys.argv
VERSIONS = {
    "transformers": transformers.__version__,
    "torch": torch.__version__.split("+")[0],
    "tokenizers": tokenizers.__version__,
}


# ----------------------------------------------------------------------------------------------- corpus


def corpus():
    """Template sentences, half Japanese, half English (deterministic)."""
    en_subj = ["The pianist", "A young violinist", "My sister", "The orchestra", "Our teacher", "The drummer"]
    en_verb = ["played", "practised", "recorded", "composed", "listened to", "performed"]
    en_obj = ["a quiet nocturne", "the new symphony", "an old folk song", "three short etudes", "the jazz standard"]
    en_tail = ["yesterday.", "in Tokyo.", "at the festival!", "before dinner.", "with great care."]
    ja_subj = ["ピアニストは", "若いバイオリン奏者が", "私の姉は", "オーケストラは", "先生は", "ドラマーが"]
    ja_obj = ["静かな夜想曲を", "新しい交響曲を", "古い民謡を", "短い練習曲を三つ", "ジャズの名曲を"]
    ja_verb = ["演奏した。", "練習しました。", "録音した。", "作曲しました！", "聴いた。"]
    ja_time = ["昨日、", "東京で", "お祭りで", "夕食の前に", "とても丁寧に"]
    rng = np.random.default_rng(0)
    out = []
    for _ in range(300):
        out.append(
            f"{rng.choice(en_subj)} {rng.choice(en_verb)} {rng.choice(en_obj)} {rng.choice(en_tail)}"
        )
        out.append(f"{rng.choice(ja_time)}{rng.choice(ja_subj)}{rng.choice(ja_obj)}{rng.choice(ja_verb)}")
    return out


EMBED_TEXT = "ドラマーが jazz を録音しました。 The pianist played a quiet nocturne."

TEST_TEXTS = [
    "The pianist played a quiet nocturne yesterday.",
    "昨日、ピアニストは静かな夜想曲を演奏した。",
    "Our teacher listened to 新しい交響曲 in Tokyo!",
    "  Leading spaces, UPPER case and Café accents.",
    "ドラマーが jazz を録音しました。 Then: 3 etudes, 12.5% faster…",
    "Unseen words: xylophone, 尺八, ｶﾀｶﾅ (half-width) and emoji 🎹.",
    "",
]


# ----------------------------------------------------------------------------------------------- tokenizers


def train_tokenizers(out_dir):
    lines = corpus()
    toks = {}

    # GPT-2 style byte-level BPE (no special tokens added on encode).
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    t.post_processor = processors.ByteLevel(trim_offsets=False)
    t.train_from_iterator(
        lines,
        trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    toks["bpe_bytelevel"] = (t, {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>",
                                 "bos_token": "<|endoftext|>"})

    # RoBERTa / XLM-R style: byte-level BPE with <s> … </s>.
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    t.decoder = decoders.ByteLevel()
    t.train_from_iterator(
        lines,
        trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    t.post_processor = processors.RobertaProcessing(("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")),
                                                    trim_offsets=True, add_prefix_space=True)
    toks["bpe_roberta"] = (t, {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>",
                               "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"})

    # BERT uncased WordPiece with [CLS] … [SEP].
    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.decoder = decoders.WordPiece()
    t.train_from_iterator(
        lines,
        trainers.WordPieceTrainer(
            vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False
        ),
    )
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", t.token_to_id("[CLS]")), ("[SEP]", t.token_to_id("[SEP]"))],
    )
    toks["wordpiece_uncased"] = (t, {"tokenizer_class": "PreTrainedTokenizerFast", "cls_token": "[CLS]",
                                     "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]"})

    # SentencePiece-style Unigram (NFKC, Metaspace) with a BOS-only template, as Llama / SmolLM tokenizers.
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.NFKC()
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    t.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    t.train_from_iterator(
        lines,
        trainers.UnigramTrainer(
            vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>", show_progress=False
        ),
    )
    t.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", t.token_to_id("<s>"))]
    )
    toks["unigram_bos"] = (t, {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>",
                               "eos_token": "</s>", "unk_token": "<unk>"})
    # The same tokenizer with add_bos_token / add_eos_token set: the generic class does not apply them.
    toks["unigram_bos_eos"] = (t, {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>",
                                   "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                                   "add_eos_token": True})

    expected = {}
    for name, (tok, cfg) in toks.items():
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        # Training is not byte-reproducible (the trainers' hash maps): committed tokenizers are kept unless --retrain.
        if RETRAIN or not os.path.exists(os.path.join(d, "tokenizer.json")):
            tok.save(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump(cfg, f, indent=1, ensure_ascii=False)
        hf = AutoTokenizer.from_pretrained(d)
        rows = []
        for text in TEST_TEXTS:
            enc = hf(text, add_special_tokens=True, return_offsets_mapping=True)
            rows.append(
                {
                    "text": text,
                    "ids": enc["input_ids"],
                    "tokens": hf.convert_ids_to_tokens(enc["input_ids"]),
                    "offsets": [list(o) for o in enc["offset_mapping"]],
                }
            )
        expected[name] = rows
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump({"versions": VERSIONS, "texts": TEST_TEXTS, "tokenizers": expected}, f, indent=1,
                  ensure_ascii=False)
    return {name: tok for name, (tok, _) in toks.items()}


# ----------------------------------------------------------------------------------------------- models

V = 512  # ≥ every trained vocabulary above

COMMON_DEC = dict(vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                  max_position_embeddings=64, attention_dropout=0.0)

CASES = {
    # Llama: GQA (4 query heads, 2 kv heads), tied embeddings, θ = 1e5.
    "llama_gqa_tied": ("llama", dict(COMMON_DEC, num_key_value_heads=2, rms_norm_eps=1e-5,
                                     tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                                     rope_parameters={"rope_type": "default", "rope_theta": 1e5}), "float32"),
    # Llama: untied head, explicit head_dim 24 (H·hd ≠ d), linear RoPE scaling, attention bias.
    "llama_untied_linear": ("llama", dict(COMMON_DEC, num_key_value_heads=4, head_dim=24, tie_word_embeddings=False,
                                          attention_bias=True, bos_token_id=1, eos_token_id=2,
                                          rope_parameters={"rope_type": "linear", "factor": 2.0,
                                                           "rope_theta": 10000.0}), "float32"),
    # Llama 3.1 RoPE scaling with a short original context so every frequency band is exercised; bf16 weights.
    "llama3_rope_bf16": ("llama", dict(COMMON_DEC, num_key_value_heads=1, tie_word_embeddings=False,
                                       bos_token_id=1, eos_token_id=2,
                                       rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0,
                                                        "factor": 8.0, "low_freq_factor": 1.0,
                                                        "high_freq_factor": 4.0,
                                                        "original_max_position_embeddings": 32}), "bfloat16"),
    # Qwen2: q/k/v biases, GQA, tied; f16 weights.
    "qwen2_f16": ("qwen2", dict(COMMON_DEC, num_key_value_heads=2, rms_norm_eps=1e-6, tie_word_embeddings=True,
                                bos_token_id=2, eos_token_id=2,
                                rope_parameters={"rope_type": "default", "rope_theta": 1e6}), "float16"),
    # GPT-2 base model saved without the `transformer.` prefix (hub layout), tied.
    "gpt2_hub": ("gpt2", dict(vocab_size=V, n_positions=64, n_embd=64, n_layer=3, n_head=4, bos_token_id=0,
                              eos_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0), "float32"),
    # GPT-2 LM head model (`transformer.` prefix), untied, n_inner 80, exact GELU, inverse-layer-idx scaling.
    "gpt2_untied": ("gpt2", dict(vocab_size=V, n_positions=64, n_embd=64, n_layer=3, n_head=4, n_inner=80,
                                 activation_function="gelu", scale_attn_by_inverse_layer_idx=True,
                                 tie_word_embeddings=False, bos_token_id=0, eos_token_id=0, resid_pdrop=0.0,
                                 embd_pdrop=0.0, attn_pdrop=0.0), "float32"),
    # GPT-NeoX (Pythia layout): parallel residual, rotary on a quarter of each head, untied.
    "neox_parallel": ("gpt_neox", dict(vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
                                       num_attention_heads=4, max_position_embeddings=64, use_parallel_residual=True,
                                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                        "partial_rotary_factor": 0.25},
                                       bos_token_id=0, eos_token_id=0, hidden_dropout=0.0), "float32"),
    # GPT-NeoX: sequential residual, half rotary, tied, θ 1e4.
    "neox_sequential": ("gpt_neox", dict(vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
                                         num_attention_heads=4, max_position_embeddings=64,
                                         use_parallel_residual=False, tie_word_embeddings=True,
                                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                          "partial_rotary_factor": 0.5},
                                         bos_token_id=0, eos_token_id=0, hidden_dropout=0.0), "float32"),
    "bert": ("bert", dict(vocab_size=V, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                          intermediate_size=96, max_position_embeddings=64, hidden_dropout_prob=0.0,
                          attention_probs_dropout_prob=0.0), "float32"),
    "roberta": ("roberta", dict(vocab_size=V, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                                intermediate_size=96, max_position_embeddings=66, type_vocab_size=1, pad_token_id=1,
                                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0), "float32"),
    "xlm_roberta_f16": ("xlm-roberta", dict(vocab_size=V, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                                            intermediate_size=96, max_position_embeddings=66, type_vocab_size=1,
                                            pad_token_id=1, hidden_dropout_prob=0.0,
                                            attention_probs_dropout_prob=0.0), "float16"),
}

CAUSAL = {"llama", "qwen2", "gpt2", "gpt_neox"}
TOKENIZER_FOR = {"llama_gqa_tied": "unigram_bos", "gpt2_hub": "bpe_bytelevel", "bert": "wordpiece_uncased",
                 "roberta": "bpe_roberta"}


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            lname = name.lower()
            if "embed" in lname or name.endswith(("wte.weight", "wpe.weight")):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif p.dim() >= 2:
                # Conv1D (GPT-2) stores [in, out], nn.Linear [out, in]: scale by the geometric mean of both.
                p.copy_(torch.randn(p.shape, generator=g) * (1.2 / (p.shape[0] * p.shape[1]) ** 0.25))
            elif name.endswith("weight") and ("norm" in lname or ".ln_" in name or name.startswith("ln_")):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def make_model(case, model_type, kw, dtype, out):
    torch.manual_seed(0)
    cfg = transformers.AutoConfig.for_model(model_type, **kw)
    cfg._attn_implementation = "eager"
    if model_type in CAUSAL and case != "gpt2_hub":
        model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    else:
        model = AutoModel.from_config(cfg, attn_implementation="eager")
    perturb(model, seed=sum(map(ord, case)))
    model.eval()
    if dtype != "float32":
        model = model.to(getattr(torch, dtype))
    if os.path.isdir(out):
        shutil.rmtree(out)
    model.save_pretrained(out, safe_serialization=True)
    return model


def run_case(case, model_type, kw, dtype, tok):
    out = os.path.join(HERE, "models", case)
    make_model(case, model_type, kw, dtype, out)
    # Reference: the saved weights, upcast to float32.
    if model_type in CAUSAL:
        ref = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
    else:
        ref = AutoModel.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
    base = ref.base_model if model_type in CAUSAL else ref
    pad = ref.config.pad_token_id if ref.config.pad_token_id is not None else 0

    rng = np.random.default_rng(sum(map(ord, case)))
    lengths = [13, 8]
    if tok is not None:
        shutil.copy(os.path.join(HERE, "tokenizers", TOKENIZER_FOR[case], "tokenizer.json"), out)
        shutil.copy(os.path.join(HERE, "tokenizers", TOKENIZER_FOR[case], "tokenizer_config.json"), out)
    low = 3 if model_type not in ("roberta", "xlm-roberta") else 4
    T = max(lengths)
    ids = np.full((2, T), pad, dtype=np.int64)
    mask = np.zeros((2, T), dtype=np.int64)
    for b, n in enumerate(lengths):
        ids[b, :n] = rng.integers(low, V, size=n)
        mask[b, :n] = 1
    ids_t = torch.from_numpy(ids)
    mask_t = torch.from_numpy(mask)
    tensors = {"input_ids": ids_t.clone(), "attention_mask": mask_t.clone()}
    with torch.no_grad():
        if model_type in CAUSAL:
            labels = ids_t.masked_fill(mask_t == 0, -100)
            o = ref(input_ids=ids_t, attention_mask=mask_t, labels=labels, output_hidden_states=True)
            tensors["logits"] = o.logits.float().contiguous()
            tensors["loss"] = o.loss.float().reshape(())
            hs = o.hidden_states
        else:
            o = ref(input_ids=ids_t, attention_mask=mask_t, output_hidden_states=True)
            hs = o.hidden_states
        tensors["hidden_states"] = torch.stack([h.float() for h in hs]).contiguous()
        # Raw output of the last block, captured with a hook.
        layers = {"llama": lambda m: m.layers, "qwen2": lambda m: m.layers, "gpt2": lambda m: m.h,
                  "gpt_neox": lambda m: m.layers}.get(model_type)
        if layers is not None:
            cap = {}
            blocks = layers(base)
            hook = blocks[-1].register_forward_hook(
                lambda mod, inp, outp: cap.__setitem__("x", outp[0] if isinstance(outp, tuple) else outp))
            ref(input_ids=ids_t, attention_mask=mask_t)
            hook.remove()
            tensors["pre_final_norm"] = cap["x"].float().contiguous()
        else:
            tensors["pre_final_norm"] = hs[-1].float().contiguous()
    meta = dict(VERSIONS, model_type=model_type, weights_dtype=dtype)
    save_file(tensors, os.path.join(out, "expected.safetensors"), metadata=meta)
    if tok is not None:
        # What `mirlens embed --model DIR --text EMBED_TEXT` must reproduce: AutoTokenizer ids, every hidden state.
        hf_tok = AutoTokenizer.from_pretrained(out)
        enc = hf_tok(EMBED_TEXT, add_special_tokens=True, return_offsets_mapping=True)
        ids1 = torch.tensor([enc["input_ids"]], dtype=torch.int64)
        with torch.no_grad():
            o = ref(input_ids=ids1, output_hidden_states=True)
        text_t = {
            "input_ids": ids1[0].clone(),
            "offsets": torch.tensor(enc["offset_mapping"], dtype=torch.int64),
            "hidden_states": torch.stack([h[0].float() for h in o.hidden_states]).contiguous(),
        }
        save_file(text_t, os.path.join(out, "text_expected.safetensors"), metadata=dict(meta, text=EMBED_TEXT))
    if case in TAP_CASES:
        save_file(block_taps(model_type, base, ref, ids_t, mask_t), os.path.join(out, "taps.safetensors"),
                  metadata=meta)
    # Check the stored model loads with the same keys transformers writes.
    keys = sorted(load_file(os.path.join(out, "model.safetensors")).keys())
    print(f"{case}: {len(keys)} tensors, first {keys[0]}, loss {tensors.get('loss', 'n/a')}")


TAP_CASES = {"llama_gqa_tied", "gpt2_untied", "neox_parallel", "neox_sequential", "bert"}


def block_taps(model_type, base, ref, ids_t, mask_t):
    """Finer taps of every block, captured with hooks: attention output projection, residual stream between
    attention and MLP, MLP output (BERT: attention.output.dense, the attention sub-layer output after its
    LayerNorm, output.dense)."""
    if model_type in ("bert", "roberta", "xlm-roberta"):
        blocks = base.encoder.layer
        attn = [b.attention.output.dense for b in blocks]
        mid = [b.attention for b in blocks]
        mlp = [b.output.dense for b in blocks]
    else:
        blocks = {"llama": lambda m: m.layers, "qwen2": lambda m: m.layers, "gpt2": lambda m: m.h,
                  "gpt_neox": lambda m: m.layers}[model_type](base)
        name = {"llama": "self_attn", "qwen2": "self_attn", "gpt2": "attn", "gpt_neox": "attention"}[model_type]
        attn = [getattr(b, name) for b in blocks]
        mid = None
        mlp = [b.mlp for b in blocks]
    first = lambda o: o[0] if isinstance(o, tuple) else o
    cap = {"in": [], "attn": [], "mid": [], "mlp": []}
    hooks = []
    for i, b in enumerate(blocks):
        def pre(mod, args, kwargs):
            cap["in"].append(args[0] if args else kwargs["hidden_states"])
        hooks.append(b.register_forward_pre_hook(pre, with_kwargs=True))
        hooks.append(attn[i].register_forward_hook(lambda m, a, o: cap["attn"].append(first(o))))
        hooks.append(mlp[i].register_forward_hook(lambda m, a, o: cap["mlp"].append(first(o))))
        if mid is not None:
            hooks.append(mid[i].register_forward_hook(lambda m, a, o: cap["mid"].append(first(o))))
    with torch.no_grad():
        ref(input_ids=ids_t, attention_mask=mask_t)
    for h in hooks:
        h.remove()
    if mid is None:
        cap["mid"] = [x + a for x, a in zip(cap["in"], cap["attn"])]
    return {
        "attn_out": torch.stack([t.float() for t in cap["attn"]]).contiguous(),
        "resid_mid": torch.stack([t.float() for t in cap["mid"]]).contiguous(),
        "mlp_out": torch.stack([t.float() for t in cap["mlp"]]).contiguous(),
    }


def main():
    tok_dir = os.path.join(HERE, "tokenizers")
    os.makedirs(tok_dir, exist_ok=True)
    toks = train_tokenizers(tok_dir)
    for case, (mt, kw, dtype) in CASES.items():
        run_case(case, mt, kw, dtype, toks.get(TOKENIZER_FOR.get(case)))


if __name__ == "__main__":
    main()
