"""The one exception type for problems a user caused and can fix."""


class ProjectError(Exception):
    """A bad file, graph, template or dataset: the message says what and what to do."""


class EditRefused(ProjectError):
    """An edit that would make the graph impossible (cycle, port already used, ...)."""


def cannot_write(what: str, error: OSError) -> ProjectError:
    """The error for a failed write: what could not be written, why, and what to do."""
    import errno

    advice = {
        errno.ENOSPC: " The disk is full: free some space, then try again.",
        errno.EDQUOT: " Your disk quota is used up: free some space, then try again.",
        errno.EROFS: " That disk is read-only: choose a folder on another one.",
        errno.EACCES: " You may not write there: choose another folder.",
        errno.EPERM: " You may not write there: choose another folder.",
    }.get(error.errno, "")
    return ProjectError(f"Cannot {what}: {error.strerror or error}.{advice}")
