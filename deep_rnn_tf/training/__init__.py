"""deep_rnn_tf.training."""
