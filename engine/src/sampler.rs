//! The quasi-random sampler: Sobol points (Joe and Kuo's direction numbers, from the
//! `sobol` crate) with a seeded random digital shift, turned into normals by the inverse
//! normal distribution and into monthly increments by a Brownian bridge, so that the
//! first, best-distributed Sobol coordinates set each path's coarse shape (its end point,
//! then its midpoints) rather than its first months.
//!
//! Point i of the sequence is computed directly from its Gray code, so any scenario can be
//! built on its own, in any shard, with the same bits.

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use sobol::Sobol;
use sobol::params::JoeKuoD6;

/// How a scenario set draws its normals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampler {
    /// Pseudo-random normals (PCG, Box-Muller), one stream per draw.
    #[default]
    Pseudo,
    /// Digitally shifted Sobol points with a Brownian bridge.
    Sobol,
}

/// Joe and Kuo's parameters, parsed once (they are constant data).
fn joe_kuo() -> &'static JoeKuoD6 {
    static PARAMS: OnceLock<JoeKuoD6> = OnceLock::new();
    PARAMS.get_or_init(JoeKuoD6::extended)
}

/// The direction numbers and digital shift of one scenario set's Sobol points.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolPoints {
    /// Per dimension, 32 direction numbers.
    directions: Vec<Vec<u32>>,
    /// Per dimension, the seeded shift XORed into every point.
    shift: Vec<u32>,
}

/// The most dimensions the parameters support.
pub const MAX_DIMENSIONS: usize = 21_201;

impl SobolPoints {
    /// `dimensions` coordinates, shifted by a function of `seed`.
    ///
    /// # Panics
    /// Beyond [`MAX_DIMENSIONS`] (the scenario set validates its months first).
    pub fn new(dimensions: usize, seed: u64) -> SobolPoints {
        assert!(
            dimensions <= MAX_DIMENSIONS,
            "{dimensions} Sobol dimensions"
        );
        let directions = Sobol::<u32>::init_direction_vals::<u32>(dimensions, 32, joe_kuo());
        let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x5eed_50b0_1000_0000);
        let shift = (0..dimensions).map(|_| rng.next_u32()).collect();
        SobolPoints { directions, shift }
    }

    /// Point `index` (0-based; point 0 of the unshifted sequence is the origin), each
    /// coordinate in (0, 1).
    pub fn point(&self, index: u64) -> Vec<f64> {
        let gray = index ^ (index >> 1);
        self.directions
            .iter()
            .zip(&self.shift)
            .map(|(dirs, shift)| {
                let mut x = *shift;
                let mut bits = gray;
                let mut b = 0;
                while bits != 0 {
                    if bits & 1 == 1 {
                        x ^= dirs[b];
                    }
                    bits >>= 1;
                    b += 1;
                }
                (f64::from(x) + 0.5) / 4_294_967_296.0
            })
            .collect()
    }
}

/// The standard normal quantile: Acklam's rational approximation refined by one Halley
/// step on the exact CDF (from `erfc`), accurate to about 1e-15.
pub fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let low = 0.02425;
    let x = if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // Halley's step on F(x) - p.
    let e = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// A Brownian bridge over `n` unit steps: the order in which it fills the path (end point
/// first, then midpoints) and each fill's weights (Glasserman, section 3.1; QuantLib's
/// `BrownianBridge`).
#[derive(Debug, Clone, PartialEq)]
pub struct BrownianBridge {
    bridge_index: Vec<usize>,
    left_index: Vec<usize>,
    right_index: Vec<usize>,
    left_weight: Vec<f64>,
    right_weight: Vec<f64>,
    std_dev: Vec<f64>,
}

impl BrownianBridge {
    pub fn new(n: usize) -> BrownianBridge {
        assert!(n > 0, "a bridge needs a step");
        let t = |i: usize| (i + 1) as f64;
        let mut map = vec![0usize; n];
        let mut b = BrownianBridge {
            bridge_index: vec![0; n],
            left_index: vec![0; n],
            right_index: vec![0; n],
            left_weight: vec![0.0; n],
            right_weight: vec![0.0; n],
            std_dev: vec![0.0; n],
        };
        map[n - 1] = 1;
        b.bridge_index[0] = n - 1;
        b.std_dev[0] = t(n - 1).sqrt();
        let mut j = 0;
        for i in 1..n {
            while map[j] != 0 {
                j += 1;
            }
            let mut k = j;
            while map[k] == 0 {
                k += 1;
            }
            let l = j + ((k - 1 - j) >> 1);
            map[l] = i;
            b.bridge_index[i] = l;
            b.left_index[i] = j;
            b.right_index[i] = k;
            if j != 0 {
                let (tl, tk, tj) = (t(l), t(k), t(j - 1));
                b.left_weight[i] = (tk - tl) / (tk - tj);
                b.right_weight[i] = (tl - tj) / (tk - tj);
                b.std_dev[i] = ((tl - tj) * (tk - tl) / (tk - tj)).sqrt();
            } else {
                let (tl, tk) = (t(l), t(k));
                b.right_weight[i] = tl / tk;
                b.std_dev[i] = (tl * (tk - tl) / tk).sqrt();
            }
            j = k + 1;
            if j >= n {
                j = 0;
            }
        }
        b
    }

    /// Independent standard normals, in fill order, to the path's unit increments (each
    /// a standard normal, jointly independent, in time order).
    // Step i reads six tables and z at the same index: an index is the clear form.
    #[allow(clippy::needless_range_loop)]
    pub fn increments(&self, z: &[f64]) -> Vec<f64> {
        let n = self.bridge_index.len();
        let mut w = vec![0.0; n];
        w[n - 1] = self.std_dev[0] * z[0];
        for i in 1..n {
            let (j, k, l) = (
                self.left_index[i],
                self.right_index[i],
                self.bridge_index[i],
            );
            w[l] = if j != 0 {
                self.left_weight[i] * w[j - 1]
                    + self.right_weight[i] * w[k]
                    + self.std_dev[i] * z[i]
            } else {
                self.right_weight[i] * w[k] + self.std_dev[i] * z[i]
            };
        }
        let mut out = vec![0.0; n];
        out[0] = w[0];
        for i in 1..n {
            out[i] = w[i] - w[i - 1];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inverse_normal_inverts_the_normal_cdf() {
        for &p in &[
            1e-12, 1e-6, 0.01, 0.02425, 0.1, 0.3, 0.5, 0.77, 0.975, 0.999_999,
        ] {
            let x = inverse_normal(p);
            let back = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
            assert!(((back - p) / p).abs() < 1e-13, "p = {p}: {x} gives {back}");
        }
        assert!((inverse_normal(0.975) - 1.959_963_984_540_054).abs() < 1e-13);
    }

    #[test]
    fn the_bridge_keeps_the_end_point_and_unit_increments() {
        let bridge = BrownianBridge::new(12);
        // z = e_0 puts everything in the end point: W(12) = sqrt(12), spread evenly.
        let mut z = vec![0.0; 12];
        z[0] = 1.0;
        let inc = bridge.increments(&z);
        for x in &inc {
            assert!((x - 12f64.sqrt() / 12.0).abs() < 1e-14, "{inc:?}");
        }
        // The map z -> increments is orthogonal: it preserves the sum of squares of any
        // vector (so the increments are independent standard normals).
        let z: Vec<f64> = (0..12).map(|i| (f64::from(i) * 0.7).sin()).collect();
        let inc = bridge.increments(&z);
        let (a, b): (f64, f64) = (
            z.iter().map(|x| x * x).sum(),
            inc.iter().map(|x| x * x).sum(),
        );
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn sobol_points_fill_each_dimension_evenly() {
        // The first 2^k points of a (shifted) Sobol sequence put exactly one point in each
        // of the 2^k equal intervals of every dimension.
        let points = SobolPoints::new(50, 7);
        let n = 64u64;
        for d in [0usize, 1, 17, 49] {
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let u = points.point(i)[d];
                assert!(u > 0.0 && u < 1.0);
                seen[(u * n as f64) as usize] = true;
            }
            assert!(seen.iter().all(|&s| s), "dimension {d}");
        }
    }
}
