"""Media I/O: decode clips into frames + audio, write clips, synthesise speech.

Nothing here imports torch or the model; data flows one way, media → features.
"""
