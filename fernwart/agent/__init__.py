"""The Fernwart agent: runs preventive checks on a customer host and reports them to a collector."""

from fernwart import __version__

__all__ = ["__version__"]
