"""Small Helion kernel files written for ``fuzzpass corpus``'s tests: one situation each, in
the forms Helion's own files take (a test module, an example with ``main``)."""
