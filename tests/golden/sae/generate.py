#!/usr/bin/env python3
"""Golden fixtures for SAELens interoperability of mirlens-sae.

Pinned versions: sae-lens==6.54.12, torch==2.11.0, safetensors==0.8.0, numpy==2.4.6 (Python 3.11).

Run from the workspace root:
    python3 -m venv /work/pyref-sae && /work/pyref-sae/bin/pip install sae-lens==6.54.12   # (torch reused via a .pth)
    /work/pyref-sae/bin/python tests/golden/sae/generate.py

What it writes next to itself:
1. ours_topk/, ours_jumprelu/ (from `cargo run -p mirlens-sae --example golden_sae`): SAEs trained by mirlens on
   planted data, saved natively (native/) and exported to SAELens (saelens/); inputs.json = 64 raw input rows.
   `saelens_of_ours.safetensors`: SAELens's encode (feature acts) and decode of OUR exports on those rows:
   `{arch}.acts [64, n]`, `{arch}.recon [64, d]`, plus `x [64, d]`.
2. saelens_topk/, saelens_jumprelu/, saelens_standard/, saelens_topk_rescaled/ (written by SAELens `save_model`,
   random weights with non-zero biases; one with apply_b_dec_to_input=False, one with
   rescale_acts_by_decoder_norm=True) and `saelens_written.safetensors` with SAELens's encode/decode of x.
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
from safetensors.torch import save_file

import sae_lens
from sae_lens import (JumpReLUSAE, JumpReLUSAEConfig, StandardSAE, StandardSAEConfig, TopKSAE, TopKSAEConfig)
from sae_lens.saes.sae import SAE

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

torch.manual_seed(0)
np.random.seed(0)


def run_mirlens_side():
    subprocess.run(["cargo", "run", "-q", "-p", "mirlens-sae", "--example", "golden_sae", "--", HERE],
                   cwd=ROOT, check=True)


def main():
    run_mirlens_side()
    x = torch.tensor(json.load(open(os.path.join(HERE, "inputs.json"))), dtype=torch.float32)
    d = x.shape[1]
    meta = {"sae_lens": sae_lens.__version__, "torch": torch.__version__, "rows": str(x.shape[0])}

    out = {"x": x.contiguous()}
    with torch.no_grad():
        for arch in ["topk", "jumprelu"]:
            sae = SAE.load_from_disk(os.path.join(HERE, f"ours_{arch}", "saelens"), device="cpu")
            acts = sae.encode(x)
            out[f"{arch}.acts"] = acts.contiguous()
            out[f"{arch}.recon"] = sae.decode(acts).contiguous()
            print(arch, type(sae).__name__, "L0", float((acts > 0).float().sum(-1).mean()))
    save_file(out, os.path.join(HERE, "saelens_of_ours.safetensors"), metadata=meta)

    n = 64
    written = {"x": x.contiguous()}

    def randomize(sae, thr=None):
        with torch.no_grad():
            sae.W_enc.copy_(torch.randn(d, n) / d ** 0.5)
            sae.W_dec.copy_(torch.randn(n, d) * 0.3)
            sae.b_enc.copy_(torch.randn(n) * 0.1)
            sae.b_dec.copy_(torch.randn(d) * 0.2)
            if thr is not None:
                sae.threshold.copy_(torch.rand(n) * thr)

    cases = {
        "saelens_topk": TopKSAE(TopKSAEConfig(d_in=d, d_sae=n, k=6)),
        "saelens_topk_rescaled": TopKSAE(TopKSAEConfig(d_in=d, d_sae=n, k=6, rescale_acts_by_decoder_norm=True)),
        "saelens_standard": StandardSAE(StandardSAEConfig(d_in=d, d_sae=n, apply_b_dec_to_input=False)),
        "saelens_jumprelu": JumpReLUSAE(JumpReLUSAEConfig(d_in=d, d_sae=n)),
    }
    with torch.no_grad():
        for name, sae in cases.items():
            randomize(sae, thr=1.0 if "jumprelu" in name else None)
            sae.save_model(os.path.join(HERE, name))
            acts = sae.encode(x)
            written[f"{name}.acts"] = acts.contiguous()
            written[f"{name}.recon"] = sae.decode(acts).contiguous()
            print(name, "L0", float((acts > 0).float().sum(-1).mean()))
    save_file(written, os.path.join(HERE, "saelens_written.safetensors"), metadata=meta)


if __name__ == "__main__":
    sys.exit(main())
