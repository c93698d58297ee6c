"""Fernwart technicians' command-line client of the collector API."""
