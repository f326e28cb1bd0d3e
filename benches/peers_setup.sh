#!/bin/sh
# Installs the peers `cargo bench --bench inception` compares ncs with (TensorFlow, ONNX Runtime,
# tf2onnx for the conversion, numpy) into a virtual environment in target/peers-venv, which the
# bench uses when it exists. Needs python3 with venv and the Python package index.
set -eu
cd "$(dirname "$0")/.."
python3 -m venv target/peers-venv
target/peers-venv/bin/pip install --quiet tensorflow-cpu onnxruntime tf2onnx numpy
target/peers-venv/bin/python -c 'import tensorflow as t, onnxruntime as o; print("peers:", "tensorflow", t.__version__, "onnxruntime", o.__version__)'
