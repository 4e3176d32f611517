"""Accelerator cost models (analytical, zigzag-dse, Timeloop) behind one ``evaluate`` interface."""
