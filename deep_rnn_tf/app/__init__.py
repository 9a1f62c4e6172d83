"""The browser annotation tool behind `deep-rnn annotate` (Flask; imported only by that command)."""
