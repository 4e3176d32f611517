"""The joint loop: search configuration, objectives and rewards, Pareto/hypervolume, the candidate
evaluator, the trial store, executors, and the loop that ties them to a searcher."""
