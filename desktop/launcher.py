"""The `cnn-studio` command: no arguments (or a project file) opens the window, `self-test`
checks the installation end to end, anything else is the engine's command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen app's worker processes start here too
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["self-test"]:
        from desktop.self_test import main as self_test

        return self_test()
    opens_window = not argv or (len(argv) == 1 and argv[0].endswith(".json"))
    if opens_window:
        from desktop.__main__ import main as open_window

        return open_window(argv)
    from engine.cli import main as command_line

    return command_line(argv)


if __name__ == "__main__":
    sys.exit(main())
