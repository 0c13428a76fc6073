"""Instructor tooling: from ``book/`` to released notebooks, a course directory and grades.

- :mod:`.chapters`    the one list of chapters (graded pages of ``_toc.yml``)
- :mod:`.versions`    ``labs/`` (student) and ``solutions/`` notebooks, byte-stable
- :mod:`.course`      the nbgrader course directory (config, ``source/``, ``release/``, gradebook)
- :mod:`.submissions` find submissions; inspect and repair a copy (originals are never written)
- :mod:`.execute`     run one notebook in a child process (:mod:`.kernel_run`) with a wall-clock limit
- :mod:`.dispatch`    run many executions at once: ``--jobs N`` threads, or Dask workers (``--scheduler``)
- :mod:`.sandbox`     where that child runs: bubblewrap (:mod:`.sandbox_bwrap`), Docker/Podman
                      (:mod:`.sandbox_container`) or, asked for by name, no sandbox
- :mod:`.autograde`   the trusted pipeline: sanitise, execute, nbgrader's Autograde, gradebook
- :mod:`.gradesheet`  the CSV (per-cell scores, status, reason), rebuilt from the gradebook
- :mod:`.feedback`    feedback with hidden tests as passed/failed, their source left out
- :mod:`.cli`         the ``nlpcourse`` command
- :mod:`.book_cache`  the book's execution cache (one profile at a time)
- :mod:`.course_home` the course's public home (``repository:`` in ``_config.yml``): links, install cell

No chapter imports this package; learners never need it.
"""
