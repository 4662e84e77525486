"""Where each decoded video frame sits on the clip's clock, and the repair when timestamps can't say.

Why this exists: some encoders and screen recorders write every frame at timestamp 0, at one
constant, without a timestamp, or as a frame counter (1 ms per frame). Every frame decodes, but
a sampler that trusts those times keeps one frame of a 7 s clip, or none. Before decoding, the
video packets' timestamps are read (demuxing only: cheap); when they cannot be a clock, frames
are placed by index at the stream's frame rate — taken from the stream's metadata when it is
plausible, else frame count over the clip's duration, else an assumed rate — and the decoded
media carries a warning naming the repair.
"""

from __future__ import annotations

from dataclasses import dataclass

#: frame rates outside this range are treated as metadata noise (webm reports its 1 kHz time base)
MIN_PLAUSIBLE_FPS = 0.1
MAX_PLAUSIBLE_FPS = 240.0
#: the rate assumed when neither the stream nor the clip's duration gives a plausible one
ASSUMED_FPS = 30.0
#: a frame count / duration estimate this close (relative) to a standard rate is taken as it
_STANDARD_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)
_SNAP = 0.005


@dataclass(frozen=True)
class ClockPlan:
    """How the video decoder turns frames into times.

    by_index: True when the file's timestamps cannot be a clock; frame i is then shown from
        i / rate seconds.
    rate: frames per second of the stream (plausible metadata), or the rate used for index
        placement; None when the file states no plausible rate and none is needed.
    reason: what was wrong with the timestamps ('' when by_index is False).
    rate_source: 'stream' (the file's metadata), 'count/duration' or 'assumed'.
    """

    by_index: bool
    rate: float | None
    reason: str = ""
    rate_source: str = "stream"

    def warning(self) -> str | None:
        """The sentence added to the decoded media's warnings, or None when nothing was repaired."""
        if not self.by_index or self.rate is None:
            return None
        how = {"stream": "", "count/duration": " (the frame count over the clip's duration)",
               "assumed": " (an assumed rate: the file states no usable one)"}[self.rate_source]
        return f"Frame timestamps were {self.reason}; frames placed by index at {self.rate:g} fps{how}."


def _plausible(rate: object) -> float | None:
    try:
        r = float(rate)  # Fraction, int or None
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return r if MIN_PLAUSIBLE_FPS <= r <= MAX_PLAUSIBLE_FPS else None


def stream_rate(video) -> float | None:
    """The first plausible frame rate the stream's metadata states (average, guessed, base, codec)."""
    for rate in (video.average_rate, video.guessed_rate, video.base_rate, getattr(video.codec_context, "framerate", None)):
        r = _plausible(rate)
        if r is not None:
            return r
    return None


def _snap(rate: float) -> float:
    for std in _STANDARD_RATES:
        if abs(rate - std) <= _SNAP * std:
            return std
    return round(rate, 3)


def _timestamp_problem(pts: list[int | None], time_base: float) -> str:
    """Why these packet timestamps cannot be a clock, or '' when they can."""
    if len(pts) < 2:
        return ""
    if any(p is None for p in pts):
        return "missing"
    values = sorted(pts)
    if values[0] == values[-1]:
        return "all zero" if values[0] == 0 else "all the same"
    if any(b <= a for a, b in zip(values, values[1:])):
        return "repeated (not increasing)"
    per_second = (len(values) - 1) / ((values[-1] - values[0]) * time_base)
    if per_second > MAX_PLAUSIBLE_FPS:
        return f"too close together ({per_second:.0f} frames per second: a frame counter, not a time)"
    return ""


def plan_clock(container, video, audio, duration: float | None) -> ClockPlan:
    """Read the video packets' timestamps (no decoding) and decide how frames are placed in time.

    container: an open PyAV container positioned at its start (it is read to the end).
    duration: the clip's claimed duration, seconds; used for count / duration when the stream
    states no plausible rate.
    """
    import av

    rate = stream_rate(video)
    pts: list[int | None] = []
    try:
        for pkt in container.demux(video):
            if pkt.size:
                pts.append(pkt.pts)
    except av.error.FFmpegError:
        pass  # a corrupt tail: judge the packets before it (the decoder reports the damage)
    problem = _timestamp_problem(pts, float(video.time_base or 1))
    if not problem:
        return ClockPlan(False, rate)
    if rate is not None:
        return ClockPlan(True, rate, problem, "stream")
    # no plausible rate in the metadata: count / duration, preferring the audio stream's length
    spans = []
    if audio is not None and audio.duration and audio.time_base:
        spans.append(float(audio.duration * audio.time_base))
    if duration:
        spans.append(float(duration))
    for span in spans:
        estimate = _plausible(len(pts) / span) if span > 0 else None
        if estimate is not None:
            return ClockPlan(True, _snap(estimate), problem, "count/duration")
    return ClockPlan(True, ASSUMED_FPS, problem, "assumed")


__all__ = ["ClockPlan", "plan_clock", "stream_rate", "ASSUMED_FPS", "MAX_PLAUSIBLE_FPS"]
