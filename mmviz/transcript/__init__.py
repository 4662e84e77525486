"""Transcripts with word times: sidecar files, offline ASR, and spreading plain text over speech."""
