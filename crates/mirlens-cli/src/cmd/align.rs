//! `mirlens align`: similarity of paired representations with permutation nulls and bootstrap CIs (`score`),
//! layer × layer matrices (`layers`) and linear maps scored by held-out R² and retrieval (`map`).

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
    /// Rank (rrr) or components (cca).
    #[arg(long)]
    pub rank: Option<usize>,
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
    /// Also write the weights [p, q] (.npy).
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
