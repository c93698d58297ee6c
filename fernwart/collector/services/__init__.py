"""The collector's service layer: transactions over the domain rules, called by API handlers and jobs."""
