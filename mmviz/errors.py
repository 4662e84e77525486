"""User-facing errors.

Every problem a user can cause (bad file, wrong checkpoint, missing tool) is raised as a
subclass of :class:`MmvizError` whose message is written for that user: what went wrong and
what to do. The CLI and the pages print ``str(err)`` as-is and never show a traceback for
these; anything else is a bug.
"""

from __future__ import annotations


class MmvizError(Exception):
    """Base class: the message is shown to the user verbatim."""

    #: short machine-readable kind, used by the UI to pick an icon and by tests
    kind: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} {hint}")


class CheckpointError(MmvizError):
    """A checkpoint is missing, unreadable, or does not fit the model it is loaded into."""

    kind = "checkpoint"


class BackboneError(MmvizError):
    """The language model backbone cannot be found or loaded."""

    kind = "backbone"


class DatasetError(MmvizError):
    """A features dataset or labels file cannot be read."""

    kind = "dataset"


class RecordError(MmvizError):
    """A saved record (features, inspection, explanation) cannot be read back."""

    kind = "record"
