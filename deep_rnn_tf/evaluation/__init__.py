"""deep_rnn_tf.evaluation."""
