"""Learned per-prompt routing: performance records, encoders, predictors, metrics and the deployable
quality predictor.

Heavy dependencies (numpy, scikit-learn, DuckDB, Arrow, WordLlama) load only when a function needs them;
install them with the ``learned`` extra.
"""
