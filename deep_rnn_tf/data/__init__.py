"""Data formats: readers of the real on-disk layouts, tf.data pipelines and synthetic generators."""
