//! CIFAR-style ResNet-(6n+2) (He et al. 2016, section 4.2): three stages of `n` basic
//! blocks with widths 16/32/64, shortcut projections (option B) where the shape changes,
//! exactly the reference's `ResNet((n, n, n), (16, 32, 64))`.

use burn::config::Config;
use burn::tensor::backend::Backend;

use super::resnet::{BlockKind, ResNet, ResNetConfig};

const CIFAR_WIDTHS: [usize; 3] = [16, 32, 64];

#[derive(Config, Debug)]
pub struct CifarResNetConfig {
    /// `n`: basic blocks per stage; depth = 6n + 2.
    pub blocks_per_stage: usize,
}

impl CifarResNetConfig {
    /// The config for a given depth, if it has the form 6n + 2 with n >= 1.
    pub fn from_depth(depth: usize) -> Option<Self> {
        let n = depth.checked_sub(2)? / 6;
        (n >= 1 && 6 * n + 2 == depth).then(|| Self::new(n))
    }

    /// Conv + linear layers counted the paper's way: 6n + 2.
    pub fn depth(&self) -> usize {
        6 * self.blocks_per_stage + 2
    }

    /// The equivalent general ResNet config.
    pub fn resnet_config(&self) -> ResNetConfig {
        let n = self.blocks_per_stage;
        ResNetConfig::new(BlockKind::Basic, vec![n; 3], CIFAR_WIDTHS.to_vec())
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> ResNet<B> {
        self.resnet_config().init(device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_round_trips_only_for_6n_plus_2() {
        for depth in [8, 20, 32, 44, 56, 110] {
            let config = CifarResNetConfig::from_depth(depth).map(|c| c.depth());
            assert_eq!(config, Some(depth));
        }
        for depth in [0, 1, 2, 7, 18, 21, 51] {
            assert!(CifarResNetConfig::from_depth(depth).is_none(), "{depth}");
        }
    }
}
