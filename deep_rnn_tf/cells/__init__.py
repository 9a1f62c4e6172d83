"""deep_rnn_tf.cells."""
