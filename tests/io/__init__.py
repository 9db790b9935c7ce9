"""nnlearn.io: model files, safetensors, ONNX, the scikit-learn wrapper."""
