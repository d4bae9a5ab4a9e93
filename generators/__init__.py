"""Hypothesis strategies that draw valid cases by construction (built in the next issue)."""
