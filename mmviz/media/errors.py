"""User-facing errors for clips that cannot be read.

Each bad-input case is its own type so the UI can pick an icon and tests can check the case;
every message says what was wrong and what to do. All subclass :class:`MmvizError`, so the
CLI and the pages print them as-is, never as a traceback.
"""

from __future__ import annotations

from mmviz.errors import MmvizError

REENCODE_HINT = "Re-encode it, e.g. `ffmpeg -i input -c:v libx264 -c:a aac output.mp4`, and try again."


class MediaError(MmvizError):
    """Base: a clip could not be used."""

    kind = "media"


class EmptyFileError(MediaError):
    """The file has zero bytes."""

    kind = "empty-file"


class NotMediaError(MediaError):
    """The bytes are not a media file at all (random data, a text file, …)."""

    kind = "not-media"


class TruncatedMediaError(MediaError):
    """The file is cut short: its index is missing, or less decoded than the container claims."""

    kind = "truncated"


class NoStreamsError(MediaError):
    """The container holds neither an audio nor a video stream."""

    kind = "no-streams"


class UnsupportedFormatError(MediaError):
    """The container format is readable but not one mmviz accepts."""

    kind = "unsupported-format"


class UnsupportedCodecError(MediaError):
    """A stream uses a codec mmviz does not accept (or this FFmpeg cannot decode)."""

    kind = "unsupported-codec"


class ClipTooLongError(MediaError):
    """The clip is longer than the configured limit and no window was chosen."""

    kind = "too-long"


class BadResolutionError(MediaError):
    """The video frame size is zero or absurdly large."""

    kind = "bad-resolution"


class BadWindowError(MediaError):
    """The requested [start, end] window is empty or outside the clip."""

    kind = "bad-window"


class TranscriptEncodingError(MediaError):
    """A transcript (typed or sidecar) is not valid UTF-8 text."""

    kind = "transcript-encoding"


class UnsafeFilenameError(MediaError):
    """A filename has directory parts (``../x.mp4``, ``/etc/x``) and strict checking is on."""

    kind = "unsafe-filename"
