"""The technicians' `fernwart` command: a client of the collector's HTTP API, nothing of its insides."""
