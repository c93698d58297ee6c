"""Fernwart: remote maintenance for IT service providers.

The distribution installs one import package with four parts that never import upwards:
`fernwart.checks` (the check library), `fernwart.agent` (on customer hosts; needs only the agent's
dependencies), `fernwart.collector` (the server, behind the ``collector`` extra) and `fernwart.client`
(the technicians' `fernwart` command). This module holds the version and nothing else, so importing
any part stays as light as that part.
"""

__version__ = "0.2.0"
