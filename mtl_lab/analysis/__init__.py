"""Reading finished runs and comparing them: discovery, seed groups, Δm%, ranks, tables and plots.

Used by ``mtl-report`` (:mod:`mtl_lab.report`); everything here reads run directories and never writes
into them.
"""
