"""The Fernwart agent: runs preventive checks on a customer host and reports them to a collector."""
