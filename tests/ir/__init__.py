"""Tests of the loop IR and its passes; ``interp`` is the reference interpreter they share."""
