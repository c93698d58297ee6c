"""The Fernwart collector: ingest, check state, repair tickets, SLA clocks, API and dashboard."""
