"""deep_rnn_tf.export."""
