//! Every random draw of a run is seeded from `(seed, epoch, step)`, so a run resumed
//! from any step replays exactly what an uninterrupted run would have drawn.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// SplitMix64 finaliser: spreads nearby inputs over the whole seed space.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn derived_rng(seed: u64, epoch: usize, stream: u64) -> StdRng {
    let key = mix(seed ^ mix(epoch as u64 ^ mix(stream)));
    StdRng::seed_from_u64(key)
}

/// The order in which epoch `epoch` visits the training images.
pub fn epoch_permutation(seed: u64, epoch: usize, len: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut derived_rng(seed, epoch, u64::MAX));
    order
}

/// The generator for augmentation and mixup draws of one step.
pub fn step_rng(seed: u64, epoch: usize, step: usize) -> StdRng {
    derived_rng(seed, epoch, step as u64)
}

/// Replica `replica`'s generator at a step of a data-parallel run: replica 0's is
/// [`step_rng`], the others' are independent of it and of each other.
pub fn replica_rng(seed: u64, epoch: usize, step: usize, replica: usize) -> StdRng {
    match replica {
        0 => step_rng(seed, epoch, step),
        _ => derived_rng(seed ^ mix(replica as u64), epoch, step as u64),
    }
}
