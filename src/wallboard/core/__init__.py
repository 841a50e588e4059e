"""Vocabulary shared by all of Wallboard: ids, events, errors, clock and the wire codec. No I/O."""
