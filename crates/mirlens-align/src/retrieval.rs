//! Cross-modal retrieval metrics (reference §10.1), in both directions of one similarity matrix.
//!
//! The rank `r` of a positive is its 0-based position after sorting the candidates by similarity, descending (ties
//! broken by candidate index). With one positive per query: R@k = mean(r < k) (fractions, not percent); mean rank
//! = mean(r) + 1; median rank = floor(median(r)) + 1; MRR = mean(1/(r + 1)); MRR@10 sets terms with r ≥ 10 to 0.
//! With several positives the R@k, ranks and MRR use the best-ranked positive (as LAION-CLAP's audio→text), and
//! mAP is the true mean average precision AP = (1/R) Σ_j j / (r_(j) + 1) over the sorted positive ranks.

use faer::MatRef;
use serde::{Deserialize, Serialize};

/// Retrieval metrics of one direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrievalMetrics {
    /// Recall at 1 (fraction).
    pub r_at_1: f64,
    /// Recall at 5.
    pub r_at_5: f64,
    /// Recall at 10.
    pub r_at_10: f64,
    /// floor(median(r)) + 1.
    pub median_rank: f64,
    /// mean(r) + 1.
    pub mean_rank: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// MRR with ranks ≥ 10 scored 0 (what LAION-CLAP calls `mAP@10` with one positive).
    pub mrr_at_10: f64,
    /// True mean average precision over all positives (equals MRR when every query has one positive).
    pub map: f64,
    /// Queries.
    pub queries: usize,
    /// Candidates per query.
    pub candidates: usize,
}

/// Retrieval in both directions of a similarity matrix `S[i, j]` (row items = X, column items = Y).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retrieval {
    /// Queries X → candidates Y (along rows).
    pub x_to_y: RetrievalMetrics,
    /// Queries Y → candidates X (along columns).
    pub y_to_x: RetrievalMetrics,
}

/// 0-based ranks of the positives of one query, ascending.
fn positive_ranks(scores: &[f64], positive: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
        .iter()
        .enumerate()
        .filter(|&(_, &j)| positive(j))
        .map(|(r, _)| r)
        .collect()
}

/// Metrics from per-query sorted positive ranks (queries without a positive are skipped).
pub fn metrics_from_ranks(ranks: &[Vec<usize>], candidates: usize) -> RetrievalMetrics {
    let q: Vec<&Vec<usize>> = ranks.iter().filter(|r| !r.is_empty()).collect();
    let n = q.len().max(1) as f64;
    let best: Vec<usize> = q.iter().map(|r| r[0]).collect();
    let recall = |k: usize| best.iter().filter(|&&r| r < k).count() as f64 / n;
    let mut sorted = best.clone();
    sorted.sort_unstable();
    let median = if sorted.is_empty() {
        f64::NAN
    } else if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2] as f64
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) as f64 / 2.0
    };
    let ap: f64 = q
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(j, &rank)| (j + 1) as f64 / (rank + 1) as f64)
                .sum::<f64>()
                / r.len() as f64
        })
        .sum();
    RetrievalMetrics {
        r_at_1: recall(1),
        r_at_5: recall(5),
        r_at_10: recall(10),
        median_rank: median.floor() + 1.0,
        mean_rank: best.iter().sum::<usize>() as f64 / n + 1.0,
        mrr: best.iter().map(|&r| 1.0 / (r + 1) as f64).sum::<f64>() / n,
        mrr_at_10: best
            .iter()
            .map(|&r| if r < 10 { 1.0 / (r + 1) as f64 } else { 0.0 })
            .sum::<f64>()
            / n,
        map: ap / n,
        queries: q.len(),
        candidates,
    }
}

/// Retrieval in both directions. `keys` (optional) makes every pair `(i, j)` with `keys_x[i] == keys_y[j]` a
/// positive; without keys the positive of query `i` is item `i` (square `S`).
pub fn retrieval(s: MatRef<'_, f64>, keys: Option<(&[u32], &[u32])>) -> Retrieval {
    let (n, m) = (s.nrows(), s.ncols());
    let pos = |i: usize, j: usize| match keys {
        Some((kx, ky)) => kx[i] == ky[j],
        None => i == j,
    };
    let rows: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let sc: Vec<f64> = (0..m).map(|j| s[(i, j)]).collect();
            positive_ranks(&sc, |j| pos(i, j))
        })
        .collect();
    let cols: Vec<Vec<usize>> = (0..m)
        .map(|j| {
            let sc: Vec<f64> = (0..n).map(|i| s[(i, j)]).collect();
            positive_ranks(&sc, |i| pos(i, j))
        })
        .collect();
    Retrieval {
        x_to_y: metrics_from_ranks(&rows, m),
        y_to_x: metrics_from_ranks(&cols, n),
    }
}

/// Cosine similarity matrix between the rows of `a` and the rows of `b`.
pub fn cosine(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> crate::Matrix {
    let norm = |m: MatRef<'_, f64>| {
        faer::Mat::from_fn(m.nrows(), m.ncols(), |i, j| {
            let r = (0..m.ncols())
                .map(|k| m[(i, k)] * m[(i, k)])
                .sum::<f64>()
                .sqrt()
                .max(1e-12);
            m[(i, j)] / r
        })
    };
    let (an, bn) = (norm(a), norm(b));
    crate::linalg::mul(an.as_ref(), bn.transpose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_ranks() {
        // Positives (diagonal) at 0-based ranks 0, 2, 1, 12 of 13 candidates.
        let ranks = vec![vec![0], vec![2], vec![1], vec![12]];
        let m = metrics_from_ranks(&ranks, 13);
        assert_eq!(m.r_at_1, 0.25);
        assert_eq!(m.r_at_5, 0.75);
        assert_eq!(m.r_at_10, 0.75);
        assert_eq!(m.mean_rank, 15.0 / 4.0 + 1.0);
        assert_eq!(m.median_rank, 2.0); // median(0, 1, 2, 12) = 1.5 → floor + 1
        let mrr = (1.0 + 1.0 / 3.0 + 0.5 + 1.0 / 13.0) / 4.0;
        assert!((m.mrr - mrr).abs() < 1e-15);
        assert!((m.mrr_at_10 - (1.0 + 1.0 / 3.0 + 0.5) / 4.0).abs() < 1e-15);
        assert!((m.map - m.mrr).abs() < 1e-15);
        // Several positives: AP = (1/2)(1/1 + 2/4) for ranks {0, 3}.
        let m = metrics_from_ranks(&[vec![0, 3]], 5);
        assert!((m.map - 0.75).abs() < 1e-15);
        assert_eq!(m.mrr, 1.0);
    }

    #[test]
    fn both_directions_of_a_similarity_matrix() {
        // Row 0's best column is 1; column 0's best row is 0.
        let s = faer::mat![[0.5, 0.9, 0.1], [0.2, 0.95, 0.3], [0.1, 0.0, 0.7]];
        let r = retrieval(s.as_ref(), None);
        assert_eq!(r.x_to_y.r_at_1, 2.0 / 3.0); // rows 1, 2 hit; row 0 ranks its positive 2nd
        assert_eq!(r.y_to_x.r_at_1, 1.0);
    }
}
