"""The parts of the one worker supervisor (:mod:`fuzzpass.core.supervisor`): the messages both
sides exchange (:mod:`.messages`, pickled on a pipe by :mod:`.frames`), the worker's half
(:mod:`.serve`), and where workers run: local processes (:mod:`.processes`, each one
:mod:`.child`; the default) or Ray actors (:mod:`.actors`)."""
