"""The import path exported regression tests use (``fuzzpass export --pytest``): stable across
reorganizations of the package, so a test written by any version of fuzzpass keeps running.
The helpers live in :mod:`fuzzpass.repro.regression`."""

from fuzzpass.repro.regression import assert_holds, assert_still_caught

__all__ = ["assert_holds", "assert_still_caught"]
