"""boto3 readers, read-only: one module per service, each filling part of a Snapshot.

Readers ask for exactly what the rules need, by name or filter, never judge,
and record why something could not be read instead of guessing.
"""
