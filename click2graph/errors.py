"""The project's exceptions and warning class.

Every message says what went wrong, why, and how to fix it; the CLI prints it as one line and the app shows it
as a readable notice.
"""


class Click2GraphError(Exception):
    """Base class for errors a user can act on (bad video, bad prompt, bad checkpoint)."""


class VideoError(Click2GraphError):
    """A video (file or frame folder) cannot be read or written."""


class PromptError(Click2GraphError):
    """A click or box is invalid for the video (outside the frame, empty, inverted, no such frame)."""


class CheckpointError(Click2GraphError):
    """A model checkpoint is missing, corrupt or does not match its model."""


class Click2GraphWarning(UserWarning):
    """A degraded-but-working path was taken (e.g. falling back to the classic backend)."""
