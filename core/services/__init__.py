"""Use-cases: plain arguments in, values out, typed errors raised, grouped by area."""
