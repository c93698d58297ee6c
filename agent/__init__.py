"""The Fernwart agent: runs preventive checks on a customer host and reports them to a collector."""

from importlib import metadata

try:
    __version__ = metadata.version("fernwart")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
