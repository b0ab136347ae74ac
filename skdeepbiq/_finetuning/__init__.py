"""Fine-tuning: the FineTuning recipe, its training loop and early stopping.

Built on the engine (trunk maps, runtime); the featurizer runs it in fit.
"""
