"""The collector's HTTP API: thin handlers over the service layer."""
