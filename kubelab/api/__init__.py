"""The Kubernetes API as data: resource kinds, errors, defaults, validation, wire codecs and Table printers.

Nothing here does I/O; the API server and the store build on it.
"""
