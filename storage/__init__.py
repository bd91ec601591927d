"""Files on disk, for every layer: checked reads that fail in one line naming the file, and
atomic writes (:mod:`storage.files`). The bottom of the project: it imports none of it, so the
trainer (``distributed``) and the data (``events``) share it without depending on each other.
"""
