"""deep_rnn_tf.data.synthetic."""
