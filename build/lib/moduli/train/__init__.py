"""Training, shaped like prediction: the run (:mod:`~moduli.train.run`), the models behind one
fit interface (:mod:`~moduli.train.fitters`), what a run writes (:mod:`~moduli.train.outputs`),
the per-epoch log line (:mod:`~moduli.train.callbacks`), Optuna sweeps
(:mod:`~moduli.train.sweeps`) and bundled ensembles built from runs (:mod:`~moduli.train.bundling`)."""
