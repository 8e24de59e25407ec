//! Walker's alias method: draws an index with given weights in constant time, which keeps
//! generating millions of records (hundreds of words each) quick.

use rand::Rng;

pub struct Alias {
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl Alias {
    /// `weights` must not be empty; zero or negative weights are never drawn (unless all are).
    pub fn new(weights: &[f64]) -> Alias {
        let n = weights.len();
        let total: f64 = weights.iter().map(|w| w.max(0.0)).sum();
        let scaled: Vec<f64> = if total > 0.0 {
            weights
                .iter()
                .map(|w| w.max(0.0) * n as f64 / total)
                .collect()
        } else {
            vec![1.0; n]
        };
        let mut prob = vec![1.0; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        let mut scaled = scaled;
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            prob[s] = scaled[s];
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // What is left is 1 up to rounding.
        Alias { prob, alias }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let i = rng.random_range(0..self.prob.len());
        if rng.random::<f64>() < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn draws_follow_the_weights() {
        let a = Alias::new(&[1.0, 0.0, 3.0, 6.0]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut seen = [0u32; 4];
        for _ in 0..100_000 {
            seen[a.sample(&mut rng)] += 1;
        }
        assert_eq!(seen[1], 0);
        for (i, want) in [(0, 0.1), (2, 0.3), (3, 0.6)] {
            let got = seen[i] as f64 / 100_000.0;
            assert!((got - want).abs() < 0.01, "index {i}: {got} vs {want}");
        }
    }
}
