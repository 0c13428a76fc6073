"""Helpers for the course "PyTorch for NLP, from an LSTM tagger to a sentiment classifier".

Each module holds one idea: `config` (profiles, seeds, device), `data` (the real data sets,
offline or downloaded), `text` (cleaning, tokenising, `Vocab`), `batching` (padding, buckets,
length-aware LSTMs), `training` (fit/evaluate), `models` (the IMDB lab's GloVe BiLSTM, for
the assignments after the exercises that build it), `plots`, `report` (glue and results) and
`exercise_checks` (hidden tests run an exercise with its ready-made twins switched off).
The instructor's side (student/solution versions, the nbgrader course, autograding, the
book's execution cache) is the subpackage `instructor`; no chapter imports it.
"""

__version__ = "0.1.0"
