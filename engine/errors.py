"""The one exception type for problems a user caused and can fix."""


class ProjectError(Exception):
    """A bad file, graph, template or dataset: the message says what and what to do.

    `details`: the parts a short message only summarises, as plain dicts (none by default)."""

    details: list[dict] | tuple = ()


class EditRefused(ProjectError):
    """An edit that would make the graph impossible (cycle, port already used, ...)."""


class ImportRefused(ProjectError):
    """A model that cannot be imported: str() is one summary line; `details` has one
    {"name", "type", "reason"} dict per layer that blocks it, in the model's order."""

    def __init__(self, summary: str, details: list[dict]):
        super().__init__(summary)
        self.details = [dict(detail) for detail in details]

    def __reduce__(self):  # picklable although __init__ takes two arguments
        return type(self), (str(self), self.details)

    def detail_lines(self) -> list[str]:
        return [f"{d['name']} ({d['type']}): {d['reason']}" for d in self.details]

    def report(self) -> str:
        """The summary, then one indented line per layer: the whole refusal as text."""
        return "\n".join([str(self), *(f"  {line}" for line in self.detail_lines())])


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
