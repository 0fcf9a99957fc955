"""Entry script of the frozen app: the same `cnn-studio` command as a pip install."""

import sys

from desktop.launcher import main

if __name__ == "__main__":
    sys.exit(main())
