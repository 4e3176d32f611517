"""Multi-trial and one-shot searchers behind one ask/tell interface."""
