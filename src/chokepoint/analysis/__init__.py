"""Analyses of one supply network: concentration, exposure (direct and upstream-traced),
knock-out chokepoints and criticality indices. Each reads the dataset or its network, never files."""
