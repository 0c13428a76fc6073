"""Helpers for the course "PyTorch for NLP, from an LSTM tagger to a sentiment classifier".

Each module holds one idea: `config` (profiles, seeds, device), `data` (the real data sets,
offline or downloaded), `text` (cleaning, tokenising, `Vocab`), `batching` (padding, buckets,
length-aware LSTMs), `training` (fit/evaluate), `plots`, `report` (glue and results),
`book_cache` (executions shared with the book build) and `grading` (student/solution
versions, autograding).
"""

__version__ = "0.1.0"
