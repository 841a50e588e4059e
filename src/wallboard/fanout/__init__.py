"""The fanout service: one upstream wire connection per source, into the event log and out to many wire clients."""
