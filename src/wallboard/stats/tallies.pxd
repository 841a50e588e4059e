# Compiled as it is (see wallboard.stats.compiled): the accumulators stay msgspec Structs, whose
# encoding is the snapshot's, so there is nothing to declare here.
