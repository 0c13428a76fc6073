"""What the grader's static screen (:mod:`.screen`) flags, each with the words a learner reads:
modules, built-in names, attributes and magics. The screen walks a cell's syntax tree; this module
is the list it walks it against, so a rule is added or worded here alone."""

from __future__ import annotations

# Module paths (and everything under them) a learner's cell may not name.
FLAGGED_MODULES = {
    "torch.ops": "PyTorch's operator registry (torch.ops)",
    "torch.overrides": "PyTorch's function-mode machinery (torch.overrides)",
    "torch.library": "PyTorch's operator library (torch.library)",
    "torch.jit": "the TorchScript compiler (torch.jit)",
    "torch.compile": "the torch.compile compiler",
    "torch.fx": "PyTorch's graph tracer (torch.fx)",
    "torch.futures": "PyTorch's asynchronous futures (torch.futures)",
    "torch.multiprocessing": "other processes (torch.multiprocessing)",
    "nlpcourse.judging": "the course's grading code (nlpcourse.judging)",
    "nlpcourse.exercise_checks": "the course's grading code (nlpcourse.exercise_checks)",
    "nlpcourse.grading": "the course's grading code (nlpcourse.grading)",
    "nlpcourse.course": "the course's instructor code (nlpcourse.course)",
    "nlpcourse.book": "the course's instructor code (nlpcourse.book)",
    "nlpcourse.cli": "the course's instructor code (nlpcourse.cli)",
    "sys.modules": "the table of loaded modules (sys.modules)",
    "sys._getframe": "the call stack (sys._getframe)",
    "sys._current_frames": "the call stack (sys._current_frames)",
    "sys.settrace": "a tracing hook (sys.settrace)",
    "sys.setprofile": "a profiling hook (sys.setprofile)",
    "sys.meta_path": "the import machinery (sys.meta_path)",
    "sys.path_hooks": "the import machinery (sys.path_hooks)",
    "sys.path_importer_cache": "the import machinery (sys.path_importer_cache)",
    "sys.addaudithook": "an audit hook (sys.addaudithook)",
    "importlib": "the import machinery (importlib)",
    "gc": "the garbage collector's view of every object (gc)",
    "inspect": "frames and function internals (inspect)",
    "ctypes": "raw memory (ctypes)",
    "builtins": "Python's built-in functions (builtins)",
    "__main__": "the notebook's own module (__main__)",
    "pickle": "code run from bytes (pickle)",
    "_pickle": "code run from bytes (pickle)",
    "cloudpickle": "code run from bytes (cloudpickle)",
    "dill": "code run from bytes (dill)",
    "shelve": "code run from bytes (shelve)",
    "marshal": "code objects from bytes (marshal)",
    "copyreg": "pickling hooks (copyreg)",
    "runpy": "code run from files (runpy)",
    "code": "an interpreter (code)",
    "codeop": "code compiled from strings (codeop)",
    "threading": "other threads (threading)",
    "_thread": "other threads (_thread)",
    "concurrent": "other threads or processes (concurrent.futures)",
    "multiprocessing": "other processes (multiprocessing)",
    "asyncio": "tasks run later (asyncio)",
    "subprocess": "other processes (subprocess)",
    "os.system": "a shell (os.system)",
    "os.popen": "a shell (os.popen)",
    "os.fork": "another process (os.fork)",
    "pty": "another process (pty)",
}
BUILTIN_NAMES = {
    "exec": "code built from a string (exec)", "eval": "code built from a string (eval)",
    "compile": "code built from a string (compile)", "__import__": "the import machinery (__import__)",
    "breakpoint": "a debugger (breakpoint)", "globals": "the notebook's namespace (globals())",
    "vars": "a namespace (vars())", "locals": "a namespace (locals())",
    "__builtins__": "Python's built-in functions (__builtins__)", "get_ipython": "the IPython shell object",
}
# Attributes that reach or change function internals, frames, class hierarchies or dispatch.
FLAGGED_ATTRIBUTES = {
    "__defaults__", "__kwdefaults__", "__code__", "__globals__", "__closure__", "__builtins__", "__dict__",
    "__subclasses__", "__bases__", "__base__", "__mro__", "__func__", "__wrapped__",
    "__torch_function__", "__torch_dispatch__", "__import__", "__loader__", "__spec__", "__traceback__",
    "f_globals", "f_locals", "f_back", "f_code", "f_builtins", "tb_frame", "tb_next", "gi_frame", "cr_frame",
    "ag_frame", "cell_contents", "co_code", "co_consts", "co_names",
}
PUBLIC_DUNDERS = {"__version__", "__name__", "__doc__"}  # harmless to read on a module
# Magics whose argument is Python code (screened like a cell), and magics with no code at all.
CODE_MAGICS = {"time", "timeit", "capture", "prun"}
HARMLESS_MAGICS = {"matplotlib"}
SHELL_METHODS = {"system", "getoutput"}  # `!cmd`: another process


def under(path: str, prefix: str) -> bool:
    """Whether the dotted ``path`` is ``prefix`` or something inside it."""
    return path == prefix or path.startswith(prefix + ".")


def module_reason(path: str) -> str | None:
    """Why naming the dotted ``path`` is flagged, or None."""
    for prefix, what in FLAGGED_MODULES.items():
        if under(path, prefix):
            return what
    parts = path.split(".")
    if parts[0] == "torch":
        private = [p for p in parts[1:] if p.startswith("_") and p not in PUBLIC_DUNDERS]
        if private:
            return f"PyTorch's private internals ({'.'.join(parts[:parts.index(private[0]) + 1])})"
    return None
