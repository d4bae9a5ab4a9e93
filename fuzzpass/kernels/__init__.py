"""``fuzzpass corpus``: the pass on Helion kernels a user already has.

Helion's own tests and examples hold hundreds of real kernels. This room finds them in files
(:mod:`.collect`), catches the inputs each file gives them (:mod:`.record`), checks each kernel
with Helion's pass on and off (:mod:`.judge`), turns a kernel where the pass fires into a
``fuzzpass.case/1`` case where the case language can state it (:mod:`.to_case`), and runs it
all over many files in worker processes that a crash cannot take down (:mod:`.campaign`).
"""
