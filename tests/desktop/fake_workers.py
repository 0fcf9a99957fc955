"""Workers that do not behave, for the harness tests (spawn imports them by name)."""

from engine import protocol


def _read_until_closed(connection) -> None:
    try:
        while True:
            connection.recv()
    except EOFError:
        pass


def old_version_worker(connection, role):
    """A stale worker of another CNN Studio version: says hello in protocol 1, then waits."""
    connection.send(protocol.encode(protocol.Hello(1, 0, role)))
    _read_until_closed(connection)


def silent_worker(connection, role):
    """A worker that never introduces itself."""
    _read_until_closed(connection)
