#!/usr/bin/env python3
"""Parity goldens for the mirlens wav2vec2 / HuBERT / MERT encoders.

Pinned reference versions: transformers 5.23.0, torch 2.11.0, numpy 2.4.6, safetensors 0.8.0
(run with /work/pyref/bin/python or any environment with exactly these versions).

Writes, next to this file, one folder per variant:

    <variant>/config.json, model.safetensors, preprocessor_config.json   (save_pretrained, new weight-norm names)
    <variant>_legacy/config.json, model.safetensors, ...                 (same weights, legacy weight_g/weight_v)
    <variant>/hidden_len<N>.safetensors    single input of N samples:
        input_values [1,N], conv_features [1,C,T] (channels first), hidden_states.<i> [1,T,H] for i=0..L,
        last_hidden_state [1,T,H]
    <variant>/hidden_batch.safetensors     padded batch of two inputs (zero padded, right):
        input_values [2,Nmax], lengths [2] (int64), hidden_states.<i> [2,Tmax,H], last_hidden_state
        metadata batch_attention_mask = "yes" (layer-norm conv stacks: mask passed) or "no" (group norm:
        no mask, as the transformers feature extractor does for these models; padding changes every frame)

Hidden-state convention: transformers v5 (`hidden_states[L]` of pre-LN models is the output of the last block
*before* the encoder's final layer norm; `last_hidden_state` is after it).

Recipe: tiny configs (hidden 32, 2 layers, 2 heads, FFN 64, conv (16,16,16) k (10,3,2) s (5,2,2), pos conv
16 / 4 groups), seeded init, then perturbation after init (every bias <- 0.1 N(0,1), every *layer_norm.weight
<- 1 + 0.1 N(0,1), weight-norm g *= 1 + 0.1 N(0,1)), so swapped weight/bias bugs are visible.
Input: sin(2 pi 440 t) + 0.1 N(0,1) with numpy.random.default_rng(0) at the model's rate.

    python generate.py                 # the committed tiny fixtures
    python generate.py --base OUTDIR   # base-size (768x12, 7x512 conv) random HuBERT, MERT-95M-like, HuBERT pre-LN
                                       # (MERT-330M layout) and wav2vec2 layer-norm pre-LN
                                       # parity case, not committed (~380 MB each); see docs/encoders.md
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2Model

HERE = os.path.dirname(os.path.abspath(__file__))

TINY = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(16, 16, 16),
    conv_kernel=(10, 3, 2),
    conv_stride=(5, 2, 2),
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=4,
    hidden_dropout=0.0,
    attention_dropout=0.0,
    activation_dropout=0.0,
    feat_proj_dropout=0.0,
    final_dropout=0.0,
    layerdrop=0.0,
    mask_time_prob=0.0,
    do_stable_layer_norm=False,
)

# name -> (model class, config overrides, sample rate, mert?)
VARIANTS = {
    "wav2vec2_group_postln": (Wav2Vec2Model, dict(feat_extract_norm="group", conv_bias=False), 16000, False),
    "wav2vec2_layer_preln": (
        Wav2Vec2Model,
        dict(feat_extract_norm="layer", conv_bias=True, do_stable_layer_norm=True),
        16000,
        False,
    ),
    "hubert_group_postln": (HubertModel, dict(feat_extract_norm="group", conv_bias=False), 16000, False),
    "hubert_group_preln": (
        HubertModel,
        dict(feat_extract_norm="group", conv_bias=False, do_stable_layer_norm=True),
        24000,
        False,
    ),
    "mert_95m_like": (HubertModel, dict(feat_extract_norm="group", conv_bias=False), 24000, True),
}

LENGTHS = [3200, 1601, 397]  # even, odd, short odd (397 > receptive field 30 of the tiny stack)
BATCH = [3200, 2001]

MERT_KEYS = {
    "model_type": "mert_model",
    "architectures": ["MERTModel"],
    "auto_map": {
        "AutoConfig": "configuration_MERT.MERTConfig",
        "AutoModel": "modeling_MERT.MERTModel",
    },
    "attention_relax": -1.0,
    "deepnorm": False,
    "feature_extractor_cqt": False,
    "feature_extractor_cqt_bins": 336,
    "sample_rate": 24000,
    "feat_proj_layer_norm": True,
}


def make_input(n, sr, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    return (np.sin(2 * np.pi * 440.0 * t) + 0.1 * rng.standard_normal(n)).astype(np.float32)


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or name == "bias":
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("weight_g") or name.endswith("parametrizations.weight.original0"):
                p.mul_(1.0 + 0.1 * torch.randn(p.shape, generator=g))


def meta(variant, extra=None):
    m = {
        "generator": "tests/golden/encoders/generate.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "attn_implementation": "eager",
        "variant": variant,
        "hidden_state_convention": "transformers-v5: hidden_states[L] is before the final encoder layer norm",
    }
    if extra:
        m.update({k: str(v) for k, v in extra.items()})
    return m


def run_single(model, x):
    with torch.no_grad():
        iv = torch.from_numpy(x)[None, :]
        out = model(iv, output_hidden_states=True)
        conv = model.feature_extractor(iv)
    t = {"input_values": iv.contiguous(), "conv_features": conv.contiguous()}
    for i, h in enumerate(out.hidden_states):
        t[f"hidden_states.{i}"] = h.clone().contiguous()
    t["last_hidden_state"] = out.last_hidden_state.clone().contiguous()
    return t


def run_batch(model, xs, use_mask):
    n = max(len(x) for x in xs)
    iv = torch.zeros(len(xs), n)
    mask = torch.zeros(len(xs), n, dtype=torch.long)
    for b, x in enumerate(xs):
        iv[b, : len(x)] = torch.from_numpy(x)
        mask[b, : len(x)] = 1
    with torch.no_grad():
        out = model(iv, attention_mask=mask if use_mask else None, output_hidden_states=True)
    t = {"input_values": iv.contiguous(), "lengths": torch.tensor([len(x) for x in xs], dtype=torch.int64)}
    for i, h in enumerate(out.hidden_states):
        t[f"hidden_states.{i}"] = h.clone().contiguous()
    t["last_hidden_state"] = out.last_hidden_state.clone().contiguous()
    return t


def legacy_copy(src_dir, dst_dir):
    """Same checkpoint with the legacy weight-norm spelling (weight_g / weight_v)."""
    os.makedirs(dst_dir, exist_ok=True)
    for f in os.listdir(src_dir):
        if f.endswith(".json"):
            shutil.copy(os.path.join(src_dir, f), os.path.join(dst_dir, f))
    sd = load_file(os.path.join(src_dir, "model.safetensors"))
    out = {}
    for k, v in sd.items():
        k2 = k.replace("parametrizations.weight.original0", "weight_g").replace(
            "parametrizations.weight.original1", "weight_v"
        )
        out[k2] = v.contiguous()
    assert out.keys() != sd.keys()
    save_file(out, os.path.join(dst_dir, "model.safetensors"), metadata={"format": "pt"})


def write_preprocessor(d, sr, normalize):
    with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
        json.dump(
            {
                "feature_extractor_type": "Wav2Vec2FeatureExtractor",
                "feature_size": 1,
                "sampling_rate": sr,
                "padding_side": "right",
                "padding_value": 0.0,
                "do_normalize": normalize,
                "return_attention_mask": True,
            },
            f,
            indent=2,
        )


def build(variant, base=False, seed=0):
    cls, over, sr, mert = VARIANTS[variant]
    cfg_kwargs = dict(TINY)
    if base:
        cfg_kwargs = {k: v for k, v in TINY.items() if k.endswith("dropout") or k in ("layerdrop", "mask_time_prob")}
        cfg_kwargs["do_stable_layer_norm"] = False
    cfg_kwargs.update(over)
    cfg_cls = Wav2Vec2Config if cls is Wav2Vec2Model else HubertConfig
    cfg = cfg_cls(**cfg_kwargs)
    torch.manual_seed(seed)
    model = cls(cfg, attn_implementation="eager") if "attn_implementation" in cls.__init__.__code__.co_varnames else cls(cfg)
    model.config._attn_implementation = "eager"
    perturb(model, seed + 1)
    model.eval()
    return model, sr, mert


def save_variant(variant, out_root, base=False, lengths=LENGTHS, batch=BATCH):
    model, sr, mert = build(variant, base=base)
    d = os.path.join(out_root, variant)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d)
    cfg_path = os.path.join(d, "config.json")
    cfg = json.load(open(cfg_path))
    if mert:
        cfg.update(MERT_KEYS)
    json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
    write_preprocessor(d, sr, normalize=False)
    if not base:
        legacy_copy(d, d + "_legacy")
    for n in lengths:
        x = make_input(n, sr)
        t = run_single(model, x)
        save_file(t, os.path.join(d, f"hidden_len{n}.safetensors"), metadata=meta(variant, {"length": n, "sample_rate": sr}))
    if batch:
        use_mask = model.config.feat_extract_norm == "layer"
        xs = [make_input(n, sr, seed=i) for i, n in enumerate(batch)]
        t = run_batch(model, xs, use_mask)
        save_file(
            t,
            os.path.join(d, "hidden_batch.safetensors"),
            metadata=meta(
                variant,
                {"lengths": ",".join(map(str, batch)), "sample_rate": sr, "batch_attention_mask": "yes" if use_mask else "no",
                 "input_seeds": "0,1"},
            ),
        )
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", metavar="OUTDIR", help="write the base-size (768x12) random parity case to OUTDIR")
    args = ap.parse_args()
    assert transformers.__version__ == "5.23.0", transformers.__version__
    torch.set_num_threads(1)
    if args.base:
        for v in ["hubert_group_postln", "mert_95m_like", "hubert_group_preln", "wav2vec2_layer_preln"]:
            _, _, sr, _ = VARIANTS[v]
            d = save_variant(v, args.base, base=True, lengths=[sr * 2 + 123], batch=None)
            print("wrote", d)
        return
    for v in VARIANTS:
        d = save_variant(v, HERE)
        print("wrote", d, file=sys.stderr)


if __name__ == "__main__":
    main()
