"""`make bench`: the event-day load measured against baselines in the same run (docs/performance.md)."""
