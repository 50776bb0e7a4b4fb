"""The spam filter: Junk training and Bayes readiness, thresholds and address rules."""
