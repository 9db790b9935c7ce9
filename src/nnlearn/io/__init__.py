r"""Files and other libraries: model files and checkpoints (no pickle), ONNX export,
scikit-learn estimators."""
