"""``mmviz features``: decode one clip and save its timed audio / visual / transcript features."""

from __future__ import annotations

import argparse

from mmviz.commands._args import FPS, HOP, SECONDS_FROM_ZERO, SECONDS_POSITIVE, number

HELP = "Extract timed audio, visual and transcript features from one clip (ClipFeatures record: JSON + npz)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", help="a video (mp4, mov, m4v, webm, mkv, avi) or audio (wav, mp3, m4a, flac, ogg) file")
    p.add_argument("--transcript", default=None, help="typed transcript text (words are spread over speech)")
    p.add_argument("--sidecar", default=None, help="transcript file: .txt, .srt or .vtt")
    p.add_argument("--asr", action="store_true", help="recognise words with pocketsphinx when no transcript is given")
    p.add_argument("--start", type=number("--start", SECONDS_FROM_ZERO), default=None, help="window start, seconds")
    p.add_argument("--end", type=number("--end", SECONDS_POSITIVE), default=None, help="window end, seconds")
    p.add_argument("--fps", type=number("--fps", FPS), default=10.0, help="visual sampling rate (default 10)")
    p.add_argument("--hop", type=number("--hop", HOP), default=0.1, help="audio step, seconds (default 0.1)")
    p.add_argument("--max-duration", type=number("--max-duration", SECONDS_POSITIVE), default=600.0, help="longest clip accepted without a window, seconds")
    p.add_argument("--out", default=None, help="save the record here (a .json path; arrays go next to it)")


def run(args: argparse.Namespace) -> int:
    from mmviz.features.extract import ExtractSettings, extract_features
    from mmviz.media.errors import BadWindowError

    window = None
    if args.start is not None or args.end is not None:
        if args.start is None or args.end is None:
            raise BadWindowError("A window needs both --start and --end (seconds).")
        window = (args.start, args.end)
    settings = ExtractSettings(hop=args.hop, fps=args.fps, max_duration=args.max_duration, window=window)
    feats = extract_features(args.clip, transcript=args.transcript, sidecar=args.sidecar, asr=args.asr, settings=settings)
    m = feats.media
    print(f"{feats.clip_id}: {m.container.split(',')[0]}, {m.duration_decoded:.2f} s decoded"
          f" (claimed {m.duration_claimed if m.duration_claimed is not None else '?'} s)")
    if feats.audio is not None:
        print(f"  audio : {feats.audio.n_steps} steps × {len(feats.audio.names)} features ({m.audio_codec})")
    if feats.visual is not None:
        face = feats.visual.column("face_present")
        print(f"  visual: {feats.visual.n_steps} frames × {len(feats.visual.names)} features ({m.video_codec} {m.width}×{m.height}),"
              f" face on {100 * float(face.mean()):.0f}% of frames")
    print(f"  words : {len(feats.words)} ({feats.transcript_source}) {feats.transcript[:80]!r}")
    for w in m.warnings:
        print(f"  note  : {w}")
    if args.out:
        from mmviz.records.serialize import save_record

        print(f"saved {save_record(feats, args.out)}")
    return 0
