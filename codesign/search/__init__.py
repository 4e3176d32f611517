"""The engine and its YAML factory.

- ``study``: :class:`~codesign.search.study.Study`, the loop over any space, evaluator, objectives and
  searcher (ask → decode → evaluate → score → tell → store, resume by replay);
- ``executors`` and ``isolation``: where trials run (inline, process pool, Ray) and how a failing one
  is contained;
- ``store``: the optuna-backed trial store (SQLite by default, any SQLAlchemy URL);
- ``objectives``, ``rewards``, ``references``: losses, constraints, the scalar reward, reference points;
- ``config`` and ``loop``: the YAML configuration and the factory that turns it into a Study
  (``evaluator`` is its built-in evaluator; ``phase_spaces``, ``preflight``, ``oneshot_context``
  serve it);
- ``summary``: reading a run back (records, table rows, front, hypervolume history, tables).
"""
