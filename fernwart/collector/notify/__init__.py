"""Message transports: email and webhook, an explicit registry, and delivery with retries.

`base` holds the contract (`Message`, `Attempt`, `Transport`, the two error kinds), `registry`
builds a configured transport by name, `dispatch.deliver` runs the attempts and returns their records.
"""
