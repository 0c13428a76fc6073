"""Helpers for the course "PyTorch for NLP, from an LSTM tagger to a sentiment classifier".

Each module holds one idea: `config` (profiles, seeds, device), `data` (the real data sets,
offline or downloaded), `text` (cleaning, tokenising, `Vocab`), `batching` (padding, buckets,
length-aware LSTMs), `training` (fit/evaluate), `models` (the IMDB lab's GloVe BiLSTM, for
the assignments after the exercises that build it), `plots`, `report` (glue and results),
`exercise_checks` (hidden tests run an exercise with its ready-made twins switched off) and
`stuck` with `references` (a learner stuck on an exercise goes on with the course's reference).
The instructor's side is in three subpackages by flow, `course` (chapters, student/solution
versions, the nbgrader course), `grading` (submissions, sandboxed execution, autograding) and
`book` (the book's build), and the `nlpcourse` command (`cli`); no chapter imports them.
"""

import warnings as _warnings

# The progress bars come from tqdm.auto: widgets in Jupyter where ipywidgets is installed, text
# elsewhere. Without ipywidgets, tqdm.auto warns ("IProgress not found") when first imported and
# falls back to the text bar: import it once here, quietly, so the learner sees the bar only.
with _warnings.catch_warnings():
    _warnings.filterwarnings("ignore", message="IProgress not found")
    import tqdm.auto  # noqa: F401

__version__ = "0.1.0"
