"""IAM policy model (parse, normalise) and comparison against the guide, on policyuniverse."""
