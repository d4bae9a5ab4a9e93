"""``fuzzpass corpus``: the pass on Helion kernels a user already has.

Helion's own tests and examples hold hundreds of real kernels. This room finds them in files
(:mod:`.collect`), catches the calls each file makes of them with its inputs and reference
(:mod:`.record`), writes each call to disk as it is made (:mod:`.record_worker`,
:mod:`.calls`), then judges each call alone with Helion's pass on and off (:mod:`.judge`,
:mod:`.judge_worker`), turns a kernel where the pass fires into a ``fuzzpass.case/1`` case
where the case language can state it (:mod:`.to_case`), and runs both phases over many files
on worker processes that a crash or a hang cannot take down (:mod:`.campaign`). A finding's
folder is judged again by :mod:`.rejudge`.
"""
