"""The grading settings: traitlets of :class:`Grading`, set in the course's ``nbgrader_config.py``
as ``c.Grading.<name> = ...``, beside nbgrader's own options and the same way.

Each setting has its default and its help text here, and only here. Both ways of grading read
them: ``nlpcourse grade`` and stock ``nbgrader autograde`` (through
:class:`.sandboxed_execute.SandboxedExecute`). The per-cell time limit is nbgrader's own
``c.Execute.timeout`` and the course id its ``c.CourseDirectory.course_id``: the course's
``nbgrader_config.py`` sets both, once.

``nlpcourse grade``'s flags are aliases (:data:`ALIASES`): ``--timeout 60`` sets
``Execute.timeout`` for that run, in memory, as ``--Execute.timeout=60`` would for an nbgrader
command; nothing is written into the course directory.
"""

from __future__ import annotations

import argparse

from traitlets import Enum, Float, Int, Unicode
from traitlets.config import Config, Configurable
from nbgrader.preprocessors import Execute

from .sandbox import NAMES, GiB, Limits


class Grading(Configurable):
    """How submissions are executed: where, within which limits, how many at once."""

    submission_timeout = Float(
        3600.0, help="Wall-clock limit for one submission in seconds, all its cells together: past it, "
                     "the whole process tree is killed and the submission scores 0.").tag(config=True)
    sandbox = Enum(
        NAMES, default_value="auto",
        help="Where learner code runs: auto = bwrap, else docker, else podman; none runs it with your "
             "permissions (see book/instructors.md).").tag(config=True)
    sandbox_memory = Float(
        Limits.memory_bytes / GiB,
        help="Memory bound in GiB (bwrap: address space of each process; containers: all of it).").tag(config=True)
    jobs = Int(
        None, allow_none=True,
        help="Grade N submissions at once on this machine (default: 1; with scheduler 'local': one "
             "worker per core).").tag(config=True)
    scheduler = Unicode(
        None, allow_none=True,
        help="Run the submissions on Dask: 'local' starts a LocalCluster of `jobs` worker processes; "
             "an address (tcp://host:8786) uses a running cluster.").tag(config=True)

    def limits(self) -> Limits:
        """The sandbox's limits with this memory bound."""
        return Limits(memory_bytes=int(self.sandbox_memory * GiB))


#: ``nlpcourse grade``'s flags and the setting each one sets.
ALIASES = {
    "timeout": (Execute, "timeout"),
    "submission-timeout": (Grading, "submission_timeout"),
    "sandbox": (Grading, "sandbox"),
    "sandbox-memory": (Grading, "sandbox_memory"),
    "jobs": (Grading, "jobs"),
    "scheduler": (Grading, "scheduler"),
}


def add_aliases(parser: argparse.ArgumentParser, names: tuple[str, ...] = tuple(ALIASES)) -> None:
    """A flag for each alias in ``names``, with the setting's own help (unset: the configuration's value)."""
    for name in names:
        cls, trait_name = ALIASES[name]
        trait = cls.class_traits()[trait_name]
        kind = {"choices": list(trait.values)} if isinstance(trait, Enum) else {
            "type": {Int: int, Float: float}.get(type(trait), str)}
        default = f"; default: {trait.default_value:g}" if cls is Grading and isinstance(trait, Float) else ""
        parser.add_argument(f"--{name}", dest=name.replace("-", "_"), **kind,
                            help=f"{trait.help.rstrip('.')} (c.{cls.__name__}.{trait_name} in nbgrader_config.py{default})")


def command_line_config(args: argparse.Namespace) -> Config:
    """The settings the command line gives, as the traitlets Config they stand for."""
    config = Config()
    for name, (cls, trait_name) in ALIASES.items():
        value = getattr(args, name.replace("-", "_"), None)
        if value is not None:
            config[cls.__name__][trait_name] = value
    return config
