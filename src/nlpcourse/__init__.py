"""Helpers for the course "PyTorch for NLP, from an LSTM tagger to a sentiment classifier".

Each module holds one idea: `config` (profiles, seeds, device), `data` (the real data sets,
offline or downloaded), `text` (cleaning, tokenising, `Vocab`), `batching` (padding, buckets,
length-aware LSTMs), `training` (fit/evaluate), `plots`, `report` (glue and results).
The instructor's side (student/solution versions, the nbgrader course, autograding, the
book's execution cache) is the subpackage `instructor`; no chapter imports it.
"""

__version__ = "0.1.0"
