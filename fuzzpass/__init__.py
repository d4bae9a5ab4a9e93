"""fuzzpass: differential testing and fuzzing of defer_pallas_load_masks."""

__version__ = "0.1.0"
