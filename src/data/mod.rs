//! Datasets: readers for IDX and CIFAR files, splits, and device-resident batches (to be written).
