"""Model files: the .npz format, save_model / load_model, the shipped models.

Above the estimators: a file is read back into a fitted DeepBIQRegressor.
"""
