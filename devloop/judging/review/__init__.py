"""The Production-Grade review cycle: pure policy and the review record (part of judging)."""
