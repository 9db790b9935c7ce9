"""Facts about where nnlearn runs: the memory this process may still take
(:mod:`~nnlearn.system.memory`) and the version of nnlearn installed
(:mod:`~nnlearn.system.version`)."""
