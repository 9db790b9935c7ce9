"""nnlearn.experiments: configs, run folders, plots, TensorBoard, sweeps, reproductions and presets."""
