#!/usr/bin/env python3
"""ONNX exports of the tiny encoder checkpoints, for the mirlens ONNX Runtime backend.

Pinned reference versions: torch 2.11.0 (legacy TorchScript exporter, `dynamo=False`), transformers 5.23.0,
onnx 1.23.2, onnxruntime 1.31.1, numpy 2.4.6, safetensors 0.8.0 (run with /work/pyref/bin/python or any
environment with exactly these versions). Opset 17 (the first with LayerNormalization).

For every variant folder `tests/golden/encoders/<variant>/` (config.json + model.safetensors, written by
`tests/golden/encoders/generate.py`) this writes `<variant>.onnx` next to this file. The export contract:

    inputs   input_values     float32 [batch, samples]
             attention_mask   int64   [batch, samples]   only for layer-norm conv stacks (feat_extract_norm=layer);
                                                         group-norm models take no mask (as in transformers)
    outputs  hidden_state_<i> float32 [batch, frames, hidden]   i = 0..L, transformers-v5 convention
                                                         (pre-LN models: hidden_state_<L> is before the final LN)
             last_hidden_state float32 [batch, frames, hidden]  (after the final LN for pre-LN models)
             conv_features    float32 [batch, frames, conv_dim] feature-encoder output, frames-first
    dynamic axes: batch, samples, frames
    metadata_props["mirlens.encoder"]: JSON with name, model_type, sample_rate, frame_rate, num_layers, hidden_size,
             conv_dim/kernel/stride, normalize_input, inputs, hidden_state_convention, opset and tool versions.

Weight norm of the positional convolution is fused into a plain weight before export. Each export is checked
against the hidden-state goldens of its variant (max abs error printed; must be <= 1e-4).

    python generate.py                       # the committed tiny exports
    python generate.py --base OUTDIR         # a HuBERT-base-size (768x12, 7x512 conv) random model, seed 0:
                                             # OUTDIR/hubert_base.onnx (~380 MB, not committed; for the benchmark)
"""

import argparse
import json
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import transformers
from safetensors.numpy import load_file
from transformers import AutoConfig, HubertConfig, HubertModel, Wav2Vec2Model

HERE = os.path.dirname(os.path.abspath(__file__))
ENCODERS = os.path.join(HERE, "..", "encoders")
OPSET = 17
VARIANTS = ["wav2vec2_group_postln", "wav2vec2_layer_preln", "hubert_group_postln", "hubert_group_preln", "mert_95m_like"]


class Export(torch.nn.Module):
    """Returns every hidden state, the last hidden state and the conv features (frames first)."""

    def __init__(self, model, with_mask):
        super().__init__()
        self.model = model
        self.with_mask = with_mask
        self._conv = None
        model.feature_extractor.register_forward_hook(self._grab)

    def _grab(self, _module, _inp, out):
        self._conv = out

    def forward(self, input_values, attention_mask=None):
        out = self.model(input_values, attention_mask=attention_mask, output_hidden_states=True)
        conv = self._conv.transpose(1, 2)
        return tuple(out.hidden_states) + (out.last_hidden_state, conv)


def fuse_weight_norm(model):
    conv = model.encoder.pos_conv_embed.conv
    if torch.nn.utils.parametrize.is_parametrized(conv, "weight"):
        torch.nn.utils.parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)


def load_model(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    model_type = cfg["model_type"]
    if model_type in ("hubert", "mert_model"):
        hf_cfg = HubertConfig(**{k: v for k, v in cfg.items() if k not in ("model_type", "architectures", "auto_map")})
        cls = HubertModel
    elif model_type == "wav2vec2":
        hf_cfg = AutoConfig.from_pretrained(d)
        cls = Wav2Vec2Model
    else:
        raise SystemExit(f"{d}: unsupported model_type {model_type}")
    hf_cfg._attn_implementation = "eager"
    model = cls.from_pretrained(d, config=hf_cfg).eval()
    return model, cfg


def encoder_metadata(name, cfg, pre, inputs):
    sr = int(pre.get("sampling_rate", cfg.get("sample_rate", 16000)))
    hop = int(np.prod(cfg["conv_stride"]))
    return {
        "format": "mirlens-encoder-onnx-v1",
        "name": name,
        "model_type": cfg["model_type"],
        "modality": "audio",
        "sample_rate": sr,
        "frame_rate": sr / hop,
        "num_layers": int(cfg["num_hidden_layers"]),
        "hidden_size": int(cfg["hidden_size"]),
        "conv_dim": [int(c) for c in cfg["conv_dim"]],
        "conv_kernel": [int(c) for c in cfg["conv_kernel"]],
        "conv_stride": [int(c) for c in cfg["conv_stride"]],
        "feat_extract_norm": cfg.get("feat_extract_norm", "group"),
        "do_stable_layer_norm": bool(cfg.get("do_stable_layer_norm", False)),
        "normalize_input": bool(pre.get("do_normalize", False)),
        "inputs": inputs,
        "hidden_state_convention": "transformers-v5",
        "opset": OPSET,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
    }


def export(model, cfg, pre, name, path, example_len):
    fuse_weight_norm(model)
    with_mask = cfg.get("feat_extract_norm", "group") == "layer"
    n_layers = int(cfg["num_hidden_layers"])
    outputs = [f"hidden_state_{i}" for i in range(n_layers + 1)] + ["last_hidden_state", "conv_features"]
    inputs = ["input_values"] + (["attention_mask"] if with_mask else [])
    x = torch.zeros(2, example_len)
    args = (x, torch.ones(2, example_len, dtype=torch.long)) if with_mask else (x,)
    dyn = {i: {0: "batch", 1: "samples"} for i in inputs}
    dyn.update({o: {0: "batch", 1: "frames"} for o in outputs})
    tmp = path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Export(model, with_mask), args, tmp, dynamo=False, opset_version=OPSET, input_names=inputs,
            output_names=outputs, dynamic_axes=dyn, do_constant_folding=True,
        )
    m = onnx.load(tmp)
    meta = encoder_metadata(name, cfg, pre, inputs)
    onnx.helper.set_model_props(m, {"mirlens.encoder": json.dumps(meta, sort_keys=True)})
    m.producer_name = "mirlens tests/golden/onnx/generate.py"
    onnx.checker.check_model(m)
    onnx.save(m, tmp)
    os.replace(tmp, path)
    return meta


def check(path, d, meta):
    """Max abs error of the export against the variant's hidden-state goldens."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    worst = 0.0
    files = sorted(f for f in os.listdir(d) if f.startswith("hidden_") and f.endswith(".safetensors"))
    for f in files:
        g = load_file(os.path.join(d, f))
        iv = g["input_values"]
        feeds = {"input_values": iv}
        if "attention_mask" in meta["inputs"]:
            lengths = g.get("lengths", np.array([iv.shape[1]] * iv.shape[0]))
            feeds["attention_mask"] = (np.arange(iv.shape[1])[None, :] < lengths[:, None]).astype(np.int64)
        out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
        for i in range(meta["num_layers"] + 1):
            worst = max(worst, float(np.abs(out[f"hidden_state_{i}"] - g[f"hidden_states.{i}"]).max()))
        worst = max(worst, float(np.abs(out["last_hidden_state"] - g["last_hidden_state"]).max()))
        if "conv_features" in g:
            worst = max(worst, float(np.abs(out["conv_features"] - g["conv_features"].transpose(0, 2, 1)).max()))
    return worst, len(files)


def tiny():
    for v in VARIANTS:
        d = os.path.join(ENCODERS, v)
        model, cfg = load_model(d)
        pre = json.load(open(os.path.join(d, "preprocessor_config.json")))
        path = os.path.join(HERE, f"{v}.onnx")
        meta = export(model, cfg, pre, v, path, example_len=1000)
        worst, n = check(path, d, meta)
        size = os.path.getsize(path)
        print(f"{v}.onnx: {size} bytes, max abs error vs {n} golden files {worst:.3e}", file=sys.stderr)
        assert worst <= 1e-4, (v, worst)


def base(outdir):
    os.makedirs(outdir, exist_ok=True)
    cfg = HubertConfig(layerdrop=0.0, mask_time_prob=0.0)  # HuBERT-base: 768 x 12, 7 x 512 conv, group norm
    torch.manual_seed(0)
    model = HubertModel(cfg).eval()
    model.config._attn_implementation = "eager"
    d = os.path.join(outdir, "hubert_base")
    model.save_pretrained(d)
    pre = {"sampling_rate": 16000, "do_normalize": False}
    with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f)
    cfgd = json.load(open(os.path.join(d, "config.json")))
    path = os.path.join(outdir, "hubert_base.onnx")
    export(model, cfgd, pre, "hubert_base", path, example_len=16000)
    print(f"wrote {path} ({os.path.getsize(path)} bytes) and {d}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", metavar="OUTDIR", help="write a HuBERT-base-size random export to OUTDIR")
    args = ap.parse_args()
    assert transformers.__version__ == "5.23.0", transformers.__version__
    assert torch.__version__.startswith("2.11.0"), torch.__version__
    torch.set_num_threads(1)
    if args.base:
        base(args.base)
    else:
        tiny()


if __name__ == "__main__":
    main()
