//! Random-weight checkpoints (config.json + model.safetensors) of a given size, for benchmarks.

use std::path::Path;

/// Shapes of every tensor of a wav2vec2/HuBERT checkpoint with a group-norm conv stack and no conv bias.
pub fn tensor_shapes(
    h: usize,
    layers: usize,
    ffn: usize,
    conv: &[(usize, usize, usize)],
    k_pos: usize,
    g_pos: usize,
) -> Vec<(String, Vec<usize>)> {
    let mut v = Vec::new();
    let mut c_in = 1;
    for (i, &(c, k, _)) in conv.iter().enumerate() {
        v.push((
            format!("feature_extractor.conv_layers.{i}.conv.weight"),
            vec![c, c_in, k],
        ));
        if i == 0 {
            v.push((
                "feature_extractor.conv_layers.0.layer_norm.weight".into(),
                vec![c],
            ));
            v.push((
                "feature_extractor.conv_layers.0.layer_norm.bias".into(),
                vec![c],
            ));
        }
        c_in = c;
    }
    v.push(("feature_projection.layer_norm.weight".into(), vec![c_in]));
    v.push(("feature_projection.layer_norm.bias".into(), vec![c_in]));
    v.push(("feature_projection.projection.weight".into(), vec![h, c_in]));
    v.push(("feature_projection.projection.bias".into(), vec![h]));
    v.push(("encoder.pos_conv_embed.conv.bias".into(), vec![h]));
    v.push((
        "encoder.pos_conv_embed.conv.parametrizations.weight.original0".into(),
        vec![1, 1, k_pos],
    ));
    v.push((
        "encoder.pos_conv_embed.conv.parametrizations.weight.original1".into(),
        vec![h, h / g_pos, k_pos],
    ));
    v.push(("encoder.layer_norm.weight".into(), vec![h]));
    v.push(("encoder.layer_norm.bias".into(), vec![h]));
    for l in 0..layers {
        let p = format!("encoder.layers.{l}");
        for n in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            v.push((format!("{p}.attention.{n}.weight"), vec![h, h]));
            v.push((format!("{p}.attention.{n}.bias"), vec![h]));
        }
        for n in ["layer_norm", "final_layer_norm"] {
            v.push((format!("{p}.{n}.weight"), vec![h]));
            v.push((format!("{p}.{n}.bias"), vec![h]));
        }
        v.push((
            format!("{p}.feed_forward.intermediate_dense.weight"),
            vec![ffn, h],
        ));
        v.push((
            format!("{p}.feed_forward.intermediate_dense.bias"),
            vec![ffn],
        ));
        v.push((
            format!("{p}.feed_forward.output_dense.weight"),
            vec![h, ffn],
        ));
        v.push((format!("{p}.feed_forward.output_dense.bias"), vec![h]));
    }
    v
}

/// Size of a random HuBERT checkpoint.
pub struct Size {
    /// Hidden size.
    pub h: usize,
    /// Blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// FFN width.
    pub ffn: usize,
    /// Pre-LN encoder.
    pub pre_ln: bool,
    /// Input sample rate.
    pub sample_rate: u32,
}

/// Write a random HuBERT checkpoint (seeded): weights N(0, 0.02²) via a xorshift generator, norm weights 1 + small
/// noise, biases small.
pub fn write(dir: &Path, size: &Size, seed: u64) {
    let Size {
        h,
        layers,
        heads,
        ffn,
        pre_ln,
        sample_rate,
    } = *size;
    let conv = [
        (512, 10, 5),
        (512, 3, 2),
        (512, 3, 2),
        (512, 3, 2),
        (512, 3, 2),
        (512, 2, 2),
        (512, 2, 2),
    ];
    std::fs::create_dir_all(dir).unwrap();
    let cfg = serde_json::json!({
        "model_type": "hubert", "hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": heads,
        "intermediate_size": ffn, "feat_extract_norm": "group", "do_stable_layer_norm": pre_ln,
        "conv_dim": conv.iter().map(|c| c.0).collect::<Vec<_>>(), "conv_kernel": conv.iter().map(|c| c.1).collect::<Vec<_>>(),
        "conv_stride": conv.iter().map(|c| c.2).collect::<Vec<_>>(), "conv_bias": false,
        "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16, "hidden_act": "gelu",
        "feat_extract_activation": "gelu", "layer_norm_eps": 1e-5,
    });
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    std::fs::write(
        dir.join("preprocessor_config.json"),
        format!("{{\"sampling_rate\": {sample_rate}, \"do_normalize\": false}}"),
    )
    .unwrap();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut normal = move || {
        // Sum of 4 uniforms, rescaled: cheap and adequate for benchmark weights.
        let mut acc = 0.0f32;
        for _ in 0..4 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            acc += (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        acc * 1.732
    };
    let shapes = tensor_shapes(h, layers, ffn, &conv, 128, 16);
    let bufs: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
        .into_iter()
        .map(|(n, shape)| {
            let count: usize = shape.iter().product();
            let (base, scale) = if n.ends_with("layer_norm.weight") || n.ends_with("original0") {
                (1.0, 0.1)
            } else if n.ends_with("bias") {
                (0.0, 0.1)
            } else {
                (0.0, 0.02)
            };
            let data: Vec<u8> = (0..count)
                .flat_map(|_| (base + scale * normal()).to_le_bytes())
                .collect();
            (n, shape, data)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bufs
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
}
