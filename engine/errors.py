"""The one exception type for problems a user caused and can fix."""


class ProjectError(Exception):
    """A bad file, graph, template or dataset: the message says what and what to do."""


class EditRefused(ProjectError):
    """An edit that would make the graph impossible (cycle, port already used, ...)."""
