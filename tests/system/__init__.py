"""nnlearn.system: the version, process locks, memory and resource limits."""
