"""The check library shared by agent and collector: statuses, thresholds, perfdata, check types."""
