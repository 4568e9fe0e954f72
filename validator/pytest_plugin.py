"""pytest plugin (registered through the pytest11 entry point).

Inactive until asked; it imports nothing heavy at collection when unused.
The full plugin (test items per rule and resource) is issue 7.
"""
