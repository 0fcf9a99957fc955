"""The main window's parts: each a mixin of MainWindow over one kind of work (files, editing,
training, Keras jobs), so the window class itself is only layout and wiring."""
