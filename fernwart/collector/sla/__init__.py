"""SLA domain layer: durations, calendars, maintenance windows, ticket clocks, availability, contracts.

Pure functions of their inputs and an explicit `now`; no database, no HTTP, no clock reads. Instants are
timezone-aware UTC datetimes; calendars and windows convert to local time at the edge.
"""
