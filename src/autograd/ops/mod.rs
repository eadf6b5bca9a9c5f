//! The ops a graph can record, one file per kernel family. Each file holds the op structs (how to
//! launch, how to differentiate) and the recording functions (`relu(&mut g, x)`).

pub mod concat;
pub mod conv;
pub mod elementwise;
pub mod embedding;
pub mod grad_clip;
pub mod grouped_conv;
pub mod loss;
pub mod lstm;
pub mod matmul;
pub mod norm;
pub mod oneshot;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod sample;
pub mod shape;
pub mod split;
pub mod subsample;
pub mod weighted_sum;

pub use concat::concat_padded;
pub use conv::conv2d;
pub use elementwise::{add, mul, relu, scale, sigmoid, tanh};
pub use embedding::embedding;
pub use grad_clip::clip_gradients;
pub use grouped_conv::{depthwise_conv2d, dilated_conv2d, grouped_conv2d};
pub use loss::{accumulate_metrics, cross_entropy_mean, softmax_cross_entropy};
pub use lstm::lstm_cell;
pub use matmul::{linear, matmul};
pub use norm::{RunningStats, batch_norm_inference, batch_norm_train};
pub use oneshot::{
    FactorizedReduce, SepConvUnit, dil_conv, factorized_reduce, identity, relu_sep_conv_bn,
    sep_conv, zero,
};
pub use optim::{Update, apply_update};
pub use pool::{global_avg_pool, pool2d};
pub use reduce::{mean_all, mean_axis, sum_all, sum_axis};
pub use sample::{
    bernoulli_entropy, bernoulli_log_prob, bernoulli_sample, categorical_entropy,
    categorical_sample, collect_ids,
};
pub use split::{rows, split_channels};
pub use subsample::subsample;
pub use weighted_sum::{masked_sum, softmax_weighted_sum, sum_n};
