"""The polygon task: Polygon-RNN with a deep RBM (or ConvLSTM) decoder on Cityscapes instance crops."""
