"""Measured latency (onnxruntime, TVM local and over RPC) and predictors trained from measurements."""
