"""The book's build: Sphinx extensions, the execution cache, the committed full-profile executions
and the results page (module map: CONTRIBUTING.md). No chapter imports this package."""
