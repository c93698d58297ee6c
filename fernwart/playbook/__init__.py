"""Playbooks: YAML data describing a diagnosis or repair, shared by agent, collector and CLI (no I/O)."""
