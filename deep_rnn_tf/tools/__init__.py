"""Command-line tools built on the library and the public `deep-rnn` commands.

Data doors (`deep-rnn data ...`): each reads arguments and calls a library function in `deep_rnn_tf.data`,
which never imports this wing.

- `extract_frames`: videos -> the action frame-folder layout.
- `polygon_crops`: Cityscapes -> Polygon-RNN crop shards.
- `synth_kth`, `synth_actions`, `synth_cityscapes`: the synthetic stand-ins of KTH, UCF-style actions and
  Cityscapes.

Studies (`deep-rnn study ...`):

- `study`, `study_grids`: named grids of ordinary `deep-rnn train`/`test` runs and their report
  (docs/study.md).
"""
