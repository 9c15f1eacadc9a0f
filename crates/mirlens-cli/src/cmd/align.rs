//! `mirlens align`: similarity of paired representations with permutation nulls and bootstrap CIs (`score`),
//! layer × layer matrices (`layers`), linear maps and contrastive heads scored by held-out R² and retrieval (`map`),
//! the sample efficiency of a map for a probe (`efficiency`), probe transfer through a map (`transfer`) and
//! one-to-one matching of SAE features (`features`).

use anyhow::Context;
use mirlens_align::measures::{MeasureParams, Metric, Preprocess, Rdm};
use mirlens_align::null::{self, NullParams};
use mirlens_align::pairing::{self, Pairing, Source};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mirlens align`.
#[derive(Debug, clap::Args)]
pub struct AlignArgs {
    #[command(subcommand)]
    command: AlignCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AlignCommand {
    /// One similarity measure between two paired views, with a permutation p-value and a bootstrap CI.
    Score(ScoreArgs),
    /// Layer × layer matrix of one or more measures between two stores or two folders of per-layer .npy files.
    Layers(LayersArgs),
    /// Fit a linear map X → Y on a training split; held-out R² and retrieval in both directions.
    Map(MapArgs),
    /// Sample efficiency: Y's probe through a map fitted on N pairs vs a probe trained on X with N labels.
    Efficiency(EfficiencyArgs),
    /// Probe transfer: Y's probe applied to X mapped into Y's space vs a probe trained on X and chance.
    Transfer(TransferArgs),
    /// Match the features of two SAE code matrices one-to-one by activation correlation (Hungarian), with a
    /// shuffled-pairing null; shared and specific fractions.
    Features(FeaturesArgs),
}

/// Measure (CLI spellings are the result-file spellings).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[clap(rename_all = "snake_case")]
pub enum MetricArg {
    /// Linear CKA.
    Cka,
    /// Debiased CKA (platonic-rep unbiased_cka).
    CkaDebiased,
    /// Spearman correlation between RDMs.
    Rsa,
    /// Mutual k-nearest neighbours.
    MutualKnn,
    /// Cycle kNN.
    CycleKnn,
    /// CKA over mutual-neighbour pairs.
    Cknna,
    /// Mean canonical correlation.
    Cca,
    /// SVCCA (99 % variance by default).
    Svcca,
    /// Projection-weighted CCA.
    Pwcca,
    /// Orthogonal Procrustes distance (centred, unit norm).
    Procrustes,
    /// netrep LinearMetric(alpha) angular distance.
    Angular,
}

impl MetricArg {
    fn metric(self) -> Metric {
        match self {
            MetricArg::Cka => Metric::Cka,
            MetricArg::CkaDebiased => Metric::CkaDebiased,
            MetricArg::Rsa => Metric::Rsa,
            MetricArg::MutualKnn => Metric::MutualKnn,
            MetricArg::CycleKnn => Metric::CycleKnn,
            MetricArg::Cknna => Metric::Cknna,
            MetricArg::Cca => Metric::Cca,
            MetricArg::Svcca => Metric::Svcca,
            MetricArg::Pwcca => Metric::Pwcca,
            MetricArg::Procrustes => Metric::Procrustes,
            MetricArg::Angular => Metric::Angular,
        }
    }
}

/// Feature preparation.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PreprocessArg {
    /// The measure's default (platonic for the kNN measures, none otherwise).
    Auto,
    /// As given.
    None,
    /// Clamp at the 0.95 quantile of |values|, L2-normalise rows (platonic-rep).
    Platonic,
}

/// RDM dissimilarity for RSA.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RdmArg {
    /// Euclidean distance.
    Euclidean,
    /// 1 − Pearson correlation.
    Correlation,
}

/// Row pairing of two stores.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PairingArg {
    /// Same clip id, largest time overlap.
    Overlap,
    /// Clip means, joined by clip id.
    Pooled,
    /// Rows in store order.
    Order,
}

/// Groups for the null and the bootstrap.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GroupArg {
    /// Shuffle all pairs, resample items.
    None,
    /// Shuffle pairs within a clip, resample clips (store inputs).
    Clip,
}

/// Arguments of `mirlens align score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// View X: a .npy matrix [n, d] (f32/f64) or a store directory (with --x-layer).
    #[arg(long)]
    pub x: PathBuf,
    /// View Y: a .npy matrix [n, d] with rows paired with X's in order, or a store directory (with --y-layer).
    #[arg(long)]
    pub y: PathBuf,
    /// Layer of the X store.
    #[arg(long)]
    pub x_layer: Option<usize>,
    /// Layer of the Y store.
    #[arg(long)]
    pub y_layer: Option<usize>,
    /// Row pairing of two stores.
    #[arg(long, value_enum, default_value = "overlap")]
    pub pairing: PairingArg,
    /// Measure.
    #[arg(long, value_enum)]
    pub metric: MetricArg,
    /// Neighbours of the kNN measures.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Feature preparation.
    #[arg(long, value_enum, default_value = "auto")]
    pub preprocess: PreprocessArg,
    /// Quantile of platonic-rep's clamp.
    #[arg(long, default_value_t = 0.95)]
    pub quantile: f64,
    /// RDM dissimilarity (rsa).
    #[arg(long, value_enum, default_value = "euclidean")]
    pub rdm: RdmArg,
    /// Variance kept per view (svcca).
    #[arg(long, default_value_t = 0.99)]
    pub variance: f64,
    /// netrep LinearMetric alpha (angular): 1 = Procrustes, 0 = CCA.
    #[arg(long, default_value_t = 1.0)]
    pub alpha: f64,
    /// Permutations of the pairing for the p-value (0: none).
    #[arg(long, default_value_t = 1000)]
    pub permutations: usize,
    /// Bootstrap resamples for the CI (0: none).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// CI coverage.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Groups of the null and the bootstrap.
    #[arg(long, value_enum, default_value = "none")]
    pub group_by: GroupArg,
    /// Seed of permutations and resamples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Result file (JSON, written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

/// Run `mirlens align`.
pub fn run(args: AlignArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AlignCommand::Score(a) => score(a),
        AlignCommand::Layers(a) => layers(a),
        AlignCommand::Map(a) => map(a),
        AlignCommand::Efficiency(a) => efficiency(a),
        AlignCommand::Transfer(a) => transfer(a),
        AlignCommand::Features(a) => features(a),
    }
}

fn pairing_mode(p: PairingArg) -> Pairing {
    match p {
        PairingArg::Overlap => Pairing::Overlap,
        PairingArg::Pooled => Pairing::Pooled,
        PairingArg::Order => Pairing::Order,
    }
}

fn measure_params(
    k: usize,
    preprocess: PreprocessArg,
    quantile: f64,
    rdm: RdmArg,
    variance: f64,
    alpha: f64,
) -> MeasureParams {
    MeasureParams {
        k,
        quantile,
        preprocess: match preprocess {
            PreprocessArg::Auto => None,
            PreprocessArg::None => Some(Preprocess::None),
            PreprocessArg::Platonic => Some(Preprocess::Platonic),
        },
        rdm: match rdm {
            RdmArg::Euclidean => Rdm::Euclidean,
            RdmArg::Correlation => Rdm::Correlation,
        },
        variance,
        alpha,
    }
}

fn score(a: ScoreArgs) -> anyhow::Result<ExitCode> {
    let xs = Source::from_path(&a.x, a.x_layer)?;
    let ys = Source::from_path(&a.y, a.y_layer)?;
    let paired = pairing::load_pair(&xs, &ys, pairing_mode(a.pairing))
        .with_context(|| format!("loading --x {} and --y {}", a.x.display(), a.y.display()))?;
    let metric = a.metric.metric();
    let mp = measure_params(a.k, a.preprocess, a.quantile, a.rdm, a.variance, a.alpha);
    let np = NullParams {
        permutations: a.permutations,
        bootstrap: a.bootstrap,
        seed: a.seed,
        confidence: a.confidence,
        groups: match a.group_by {
            GroupArg::None => None,
            GroupArg::Clip => Some(paired.groups.clone()),
        },
    };
    let s = null::score(metric, paired.x.as_ref(), paired.y.as_ref(), &mp, &np)?;
    let mut json = serde_json::to_value(&s)?;
    json["x"] = serde_json::json!({"path": a.x, "layer": a.x_layer, "dims": paired.x.ncols()});
    json["y"] = serde_json::json!({"path": a.y, "layer": a.y_layer, "dims": paired.y.ncols()});
    let bytes = serde_json::to_vec_pretty(&json)?;
    mirlens_report::write_atomic(&a.out, &bytes)
        .with_context(|| format!("writing {}", a.out.display()))?;
    let p = s.p_value.map_or("-".to_string(), |p| format!("{p:.4}"));
    let ci =
        s.ci.map_or("-".to_string(), |c| format!("[{:.4}, {:.4}]", c[0], c[1]));
    println!(
        "{metric} = {:.4}  p = {p}  {:.0}% CI {ci}  n = {}  → {}",
        s.value,
        s.confidence * 100.0,
        s.n,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `mirlens align layers`.
#[derive(Debug, clap::Args)]
pub struct LayersArgs {
    /// X: a store directory, or a folder of per-layer .npy files [n, d] (sorted by the number in the file name).
    #[arg(long)]
    pub x: PathBuf,
    /// Y: a store directory or a folder of per-layer .npy files with rows paired with X's.
    #[arg(long)]
    pub y: PathBuf,
    /// X layers of a store, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub x_layers: Vec<usize>,
    /// Y layers of a store, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub y_layers: Vec<usize>,
    /// Row pairing of two stores.
    #[arg(long, value_enum, default_value = "overlap")]
    pub pairing: PairingArg,
    /// Measures, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "cka_debiased,mutual_knn"
    )]
    pub metric: Vec<MetricArg>,
    /// Neighbours of the kNN measures.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Feature preparation.
    #[arg(long, value_enum, default_value = "auto")]
    pub preprocess: PreprocessArg,
    /// Quantile of platonic-rep's clamp.
    #[arg(long, default_value_t = 0.95)]
    pub quantile: f64,
    /// RDM dissimilarity (rsa).
    #[arg(long, value_enum, default_value = "euclidean")]
    pub rdm: RdmArg,
    /// Variance kept per view (svcca).
    #[arg(long, default_value_t = 0.99)]
    pub variance: f64,
    /// netrep LinearMetric alpha (angular).
    #[arg(long, default_value_t = 1.0)]
    pub alpha: f64,
    /// Output directory: <metric>.csv, <metric>.svg, <metric>.json per measure.
    #[arg(long)]
    pub out: PathBuf,
}

fn load_layers(
    store: &mirlens_store::reader::Store,
    pick: &[usize],
    view: impl Fn(&mirlens_align::Matrix) -> mirlens_align::Matrix,
) -> anyhow::Result<Vec<(String, mirlens_align::Matrix)>> {
    let all: Vec<usize> = store.layers().iter().map(|l| l.0).collect();
    let chosen = if pick.is_empty() { all } else { pick.to_vec() };
    chosen
        .into_iter()
        .map(|l| Ok((format!("{l}"), view(&pairing::read_layer(store, l)?))))
        .collect()
}

fn layers(a: LayersArgs) -> anyhow::Result<ExitCode> {
    use mirlens_align::layers::{layer_matrix, npy_folder};
    use mirlens_store::reader::Store;
    let is_store = |p: &std::path::Path| p.join("manifest.json").is_file();
    let (xs, ys, x_title, y_title) = if is_store(&a.x) && is_store(&a.y) {
        let sx = Store::open(&a.x).with_context(|| format!("opening {}", a.x.display()))?;
        let sy = Store::open(&a.y).with_context(|| format!("opening {}", a.y.display()))?;
        let p = pairing::StorePairing::new(&sx, &sy, pairing_mode(a.pairing))?;
        eprintln!("{} paired rows over {} clips", p.len(), p.group_names.len());
        let xs = load_layers(&sx, &a.x_layers, |m| p.x_view(m))?;
        let ys = load_layers(&sy, &a.y_layers, |m| p.y_view(m))?;
        (
            xs,
            ys,
            format!("{} layer", a.x.display()),
            format!("{} layer", a.y.display()),
        )
    } else if a.x.is_dir() && a.y.is_dir() {
        (
            npy_folder(&a.x)?,
            npy_folder(&a.y)?,
            a.x.display().to_string(),
            a.y.display().to_string(),
        )
    } else {
        anyhow::bail!("--x and --y must both be stores or both be folders of per-layer .npy files");
    };
    let mp = measure_params(a.k, a.preprocess, a.quantile, a.rdm, a.variance, a.alpha);
    for m in &a.metric {
        let metric = m.metric();
        let lm = layer_matrix(&xs, &ys, metric, &mp).with_context(|| format!("{metric} matrix"))?;
        lm.write(&a.out, metric.name(), &x_title, &y_title)?;
        println!(
            "{metric}: {} x {} layers, n = {}, best {:.4} at x {} / y {}  → {}",
            lm.x_layers.len(),
            lm.y_layers.len(),
            lm.n,
            lm.best,
            lm.best_pair[0],
            lm.best_pair[1],
            a.out.join(format!("{}.csv", metric.name())).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Map family.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MethodArg {
    /// Ridge regression, λ by K-fold CV.
    Ridge,
    /// Orthogonal Procrustes.
    Procrustes,
    /// Reduced-rank ridge regression.
    Rrr,
    /// CCA projection.
    Cca,
    /// Two linear heads trained with the symmetric InfoNCE loss (CLIP/CLAP).
    Infonce,
    /// Two linear heads trained with the sigmoid loss (SigLIP).
    Siglip,
}

/// Procrustes variant.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScalingArg {
    /// Centred only.
    Centred,
    /// Centred and unit Frobenius norm.
    Normalised,
}

/// Arguments of `mirlens align map`.
#[derive(Debug, clap::Args)]
pub struct MapArgs {
    /// View X (.npy or store with --x-layer).
    #[arg(long)]
    pub x: PathBuf,
    /// View Y (.npy or store with --y-layer).
    #[arg(long)]
    pub y: PathBuf,
    /// Layer of the X store.
    #[arg(long)]
    pub x_layer: Option<usize>,
    /// Layer of the Y store.
    #[arg(long)]
    pub y_layer: Option<usize>,
    /// Row pairing of two stores.
    #[arg(long, value_enum, default_value = "overlap")]
    pub pairing: PairingArg,
    /// Map family.
    #[arg(long, value_enum, default_value = "ridge")]
    pub method: MethodArg,
    /// Held-out fraction of items (of clips with --group-by clip).
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// CV folds for λ.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Fixed λ instead of CV.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Rank (rrr), components (cca) or width of the shared space (infonce, siglip; default min(p, q, 64)).
    #[arg(long)]
    pub rank: Option<usize>,
    /// Training epochs (infonce, siglip).
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Adam step size (infonce, siglip).
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Mini-batch size (infonce, siglip; full batch when the training split is not larger).
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Procrustes variant.
    #[arg(long, value_enum, default_value = "centred")]
    pub scaling: ScalingArg,
    /// Split (and CV folds) by clip (store inputs).
    #[arg(long, value_enum, default_value = "none")]
    pub group_by: GroupArg,
    /// Seed of the split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Result file (JSON, atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the weights [p, q] (.npy; infonce, siglip: the X head W_x [p, rank]).
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

fn map(a: MapArgs) -> anyhow::Result<ExitCode> {
    use mirlens_align::maps::{self, MapMethod, MapParams, ProcrustesScaling};
    let xs = Source::from_path(&a.x, a.x_layer)?;
    let ys = Source::from_path(&a.y, a.y_layer)?;
    let paired = pairing::load_pair(&xs, &ys, pairing_mode(a.pairing))
        .with_context(|| format!("loading --x {} and --y {}", a.x.display(), a.y.display()))?;
    let params = MapParams {
        method: match a.method {
            MethodArg::Ridge => MapMethod::Ridge,
            MethodArg::Procrustes => MapMethod::Procrustes,
            MethodArg::Rrr => MapMethod::Rrr,
            MethodArg::Cca => MapMethod::Cca,
            MethodArg::Infonce => MapMethod::InfoNce,
            MethodArg::Siglip => MapMethod::Siglip,
        },
        test_fraction: a.test_fraction,
        folds: a.folds,
        lambda: a.lambda,
        rank: a.rank,
        procrustes: match a.scaling {
            ScalingArg::Centred => ProcrustesScaling::Centred,
            ScalingArg::Normalised => ProcrustesScaling::Normalised,
        },
        seed: a.seed,
        epochs: a.epochs,
        lr: a.lr,
        batch_size: a.batch_size,
    };
    let groups = match a.group_by {
        GroupArg::None => None,
        GroupArg::Clip => Some(paired.groups.as_slice()),
    };
    let (rep, w) = maps::fit_and_evaluate(paired.x.as_ref(), paired.y.as_ref(), groups, &params)?;
    mirlens_report::write_atomic(&a.out, &serde_json::to_vec_pretty(&rep)?)
        .with_context(|| format!("writing {}", a.out.display()))?;
    if let Some(p) = &a.weights {
        mirlens_align::npy::write(p, &w)?;
    }
    let r2 = rep
        .r2_variance_weighted
        .map_or("-".into(), |v| format!("{v:.4}"));
    println!(
        "{}: n_train = {}, n_test = {}, held-out R² (variance-weighted) = {r2}, R@1 x→y {:.3} y→x {:.3}, MRR x→y {:.3} y→x {:.3}  → {}",
        params.method.name(),
        rep.n_train,
        rep.n_test,
        rep.retrieval.x_to_y.r_at_1,
        rep.retrieval.y_to_x.r_at_1,
        rep.retrieval.x_to_y.mrr,
        rep.retrieval.y_to_x.mrr,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Map family of `efficiency` and `transfer` (maps into Y's space).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum IntoYArg {
    /// Ridge regression, λ by K-fold CV.
    Ridge,
    /// Orthogonal Procrustes.
    Procrustes,
    /// Reduced-rank ridge regression.
    Rrr,
}

/// Inputs and options shared by `efficiency` and `transfer`.
#[derive(Debug, clap::Args)]
pub struct ProbeMapArgs {
    /// View X, the modality with scarce labels (.npy or store with --x-layer).
    #[arg(long)]
    pub x: PathBuf,
    /// View Y, the modality with abundant labels (.npy or store with --y-layer).
    #[arg(long)]
    pub y: PathBuf,
    /// Layer of the X store.
    #[arg(long)]
    pub x_layer: Option<usize>,
    /// Layer of the Y store.
    #[arg(long)]
    pub y_layer: Option<usize>,
    /// Row pairing of two stores (overlap or order).
    #[arg(long, value_enum, default_value = "overlap")]
    pub pairing: PairingArg,
    /// Label of the Y store (int or string, row- or clip-level) used as the class (store inputs).
    #[arg(long)]
    pub label: Option<String>,
    /// Integer class per row (.npy inputs).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Map X → Y.
    #[arg(long, value_enum, default_value = "ridge")]
    pub method: IntoYArg,
    /// CV folds for the map's λ.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Fixed map λ instead of CV.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Rank (rrr).
    #[arg(long)]
    pub rank: Option<usize>,
    /// Procrustes variant.
    #[arg(long, value_enum, default_value = "centred")]
    pub scaling: ScalingArg,
    /// Ridge-classifier penalty of the probes (on standardised features).
    #[arg(long, default_value_t = 1.0)]
    pub probe_lambda: f64,
    /// Held-out fraction of items (of clips with --group-by clip).
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Split by clip (store inputs).
    #[arg(long, value_enum, default_value = "none")]
    pub group_by: GroupArg,
    /// Seed of the split and the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Arguments of `mirlens align efficiency`.
#[derive(Debug, clap::Args)]
pub struct EfficiencyArgs {
    #[command(flatten)]
    common: ProbeMapArgs,
    /// Paired training sizes N (capped at the training pool).
    #[arg(long, value_delimiter = ',', default_value = "10,30,100,300,1000")]
    pub sizes: Vec<usize>,
    /// Repeats per size.
    #[arg(long, default_value_t = 5)]
    pub seeds: usize,
    /// Output directory: efficiency.csv, efficiency.json, efficiency.svg.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `mirlens align transfer`.
#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    #[command(flatten)]
    common: ProbeMapArgs,
    /// Result file (JSON, atomically).
    #[arg(long)]
    pub out: PathBuf,
}

fn probe_map_inputs(
    c: &ProbeMapArgs,
) -> anyhow::Result<(
    mirlens_align::efficiency::Labelled,
    mirlens_align::efficiency::EfficiencyParams,
)> {
    use mirlens_align::efficiency::{EfficiencyParams, load_labelled};
    use mirlens_align::maps::{MapMethod, ProcrustesScaling};
    let xs = Source::from_path(&c.x, c.x_layer)?;
    let ys = Source::from_path(&c.y, c.y_layer)?;
    let data = load_labelled(
        &xs,
        &ys,
        pairing_mode(c.pairing),
        c.label.as_deref(),
        c.labels.as_deref(),
    )
    .with_context(|| format!("loading --x {} and --y {}", c.x.display(), c.y.display()))?;
    let params = EfficiencyParams {
        method: match c.method {
            IntoYArg::Ridge => MapMethod::Ridge,
            IntoYArg::Procrustes => MapMethod::Procrustes,
            IntoYArg::Rrr => MapMethod::Rrr,
        },
        folds: c.folds,
        lambda: c.lambda,
        rank: c.rank,
        procrustes: match c.scaling {
            ScalingArg::Centred => ProcrustesScaling::Centred,
            ScalingArg::Normalised => ProcrustesScaling::Normalised,
        },
        probe_lambda: c.probe_lambda,
        test_fraction: c.test_fraction,
        seed: c.seed,
        ..Default::default()
    };
    Ok((data, params))
}

fn groups_of(g: GroupArg, data: &mirlens_align::efficiency::Labelled) -> Option<&[u32]> {
    match g {
        GroupArg::None => None,
        GroupArg::Clip => Some(data.paired.groups.as_slice()),
    }
}

fn efficiency(a: EfficiencyArgs) -> anyhow::Result<ExitCode> {
    let (data, mut params) = probe_map_inputs(&a.common)?;
    params.sizes = a.sizes.clone();
    params.seeds = a.seeds;
    let rep = mirlens_align::efficiency::efficiency(
        data.paired.x.as_ref(),
        data.paired.y.as_ref(),
        &data.labels,
        groups_of(a.common.group_by, &data),
        &params,
    )?;
    rep.write(&a.out)
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{} map, pool {}, held out {}, {} classes (majority {:.3}), Y probe on Y {:.3}",
        params.method.name(),
        rep.n_pool,
        rep.n_test,
        rep.classes,
        rep.chance,
        rep.y_probe_accuracy
    );
    for r in &rep.rows {
        println!(
            "N = {:>6}: mapped {:.3} [{:.3}, {:.3}]  direct {:.3} [{:.3}, {:.3}]",
            r.n,
            r.mapped_mean,
            r.mapped_min,
            r.mapped_max,
            r.direct_mean,
            r.direct_min,
            r.direct_max
        );
    }
    println!("→ {}", a.out.join("efficiency.csv").display());
    Ok(ExitCode::SUCCESS)
}

fn transfer(a: TransferArgs) -> anyhow::Result<ExitCode> {
    let (data, params) = probe_map_inputs(&a.common)?;
    let rep = mirlens_align::efficiency::transfer(
        data.paired.x.as_ref(),
        data.paired.y.as_ref(),
        &data.labels,
        groups_of(a.common.group_by, &data),
        &params,
    )?;
    let mut json = serde_json::to_value(&rep)?;
    json["class_names"] = serde_json::json!(data.classes);
    mirlens_report::write_atomic(&a.out, &serde_json::to_vec_pretty(&json)?)
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}: Y probe on mapped X {:.3}, X probe on X {:.3}, Y probe on Y {:.3}, majority {:.3} (n_train {}, n_test {})  → {}",
        params.method.name(),
        rep.y_probe_on_mapped_x,
        rep.x_probe_on_x,
        rep.y_probe_on_y,
        rep.chance,
        rep.n_train,
        rep.n_test,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `mirlens align features`.
#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    /// SAE codes (or activations) A [n, f_a] (.npy, or a store with --x-layer).
    #[arg(long)]
    pub x: PathBuf,
    /// SAE codes B [n, f_b] with rows paired with A's.
    #[arg(long)]
    pub y: PathBuf,
    /// Layer of the X store.
    #[arg(long)]
    pub x_layer: Option<usize>,
    /// Layer of the Y store.
    #[arg(long)]
    pub y_layer: Option<usize>,
    /// Row pairing of two stores.
    #[arg(long, value_enum, default_value = "overlap")]
    pub pairing: PairingArg,
    /// Shuffled pairings of the null.
    #[arg(long, default_value_t = 20)]
    pub shuffles: usize,
    /// Quantile of the null's matched correlations used as the threshold.
    #[arg(long, default_value_t = 0.95)]
    pub quantile: f64,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory: features.csv, features.json.
    #[arg(long)]
    pub out: PathBuf,
}

fn features(a: FeaturesArgs) -> anyhow::Result<ExitCode> {
    use mirlens_align::features::{FeatureParams, match_features};
    let xs = Source::from_path(&a.x, a.x_layer)?;
    let ys = Source::from_path(&a.y, a.y_layer)?;
    let paired = pairing::load_pair(&xs, &ys, pairing_mode(a.pairing))
        .with_context(|| format!("loading --x {} and --y {}", a.x.display(), a.y.display()))?;
    let params = FeatureParams {
        shuffles: a.shuffles,
        quantile: a.quantile,
        seed: a.seed,
    };
    let m = match_features(paired.x.as_ref(), paired.y.as_ref(), &params)?;
    m.write(&a.out)
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{} x {} features, n = {}: {} matched pairs above the null ({:.4}); shared {:.3} of A, {:.3} of B  → {}",
        m.features_a,
        m.features_b,
        m.n,
        m.shared,
        m.null_threshold,
        m.shared_fraction_a,
        m.shared_fraction_b,
        a.out.join("features.csv").display()
    );
    Ok(ExitCode::SUCCESS)
}
