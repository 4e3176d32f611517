"""Accuracy of a candidate network at three fidelities: proxy training (``training``), a
weight-sharing supernet (``supernet``, trained by ``supernet_training``) and a regressor fitted on
supernet evaluations (``predictor``); ``datasets`` loads the data; ``sources`` picks the fidelity
a search configuration asks for. Nothing is imported here: torch loads with these modules.
"""
