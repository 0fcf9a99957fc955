"""CNN Studio's Qt application. Never imports TensorFlow/Keras at module level: the GUI
process stays light; Keras work runs in a worker process."""
