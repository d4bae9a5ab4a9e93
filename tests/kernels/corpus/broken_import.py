"""A kernel file whose import fails here (a package this machine lacks): skipped in one line."""

import a_package_fuzzpass_does_not_have  # noqa: F401
