"""The pass as a spec: graph IR on torch.fx, the op table, the passes and Pallas codegen.

``reference`` knows nothing of the harness: it takes a :class:`~reference.spec.KernelSpec`
and returns graphs, decisions and kernel source.
"""
