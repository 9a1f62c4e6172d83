"""Tools built on the public `deep-rnn` commands (e.g. `deep-rnn study`)."""
