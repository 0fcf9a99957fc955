"""Qt-free state the window shows: each panel is a view over one of these."""
