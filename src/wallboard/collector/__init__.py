"""The collector service: event log → statistics engine → value store, exactly once."""
