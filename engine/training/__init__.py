"""Training: config, events, the session that runs Keras, and run folders on disk."""
