"""deep_rnn_tf.layers."""
