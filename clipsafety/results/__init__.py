"""The typed record of a run (one record per case), its reader and writer, and the outputs.

Nothing here runs a model: the results layer reads and writes what a run decided.
"""
