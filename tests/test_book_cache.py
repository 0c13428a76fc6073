"""The book's execution cache keeps one profile's executions and recognises a cached chapter."""

from nlpcourse.book import book_cache

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
print(1 + 1)
```
"""


def chapter(tmp_path, code="print(1 + 1)"):
    source = tmp_path / "chapter.md"
    source.write_text(CHAPTER.replace("print(1 + 1)", code))
    return source, book_cache.myst_notebook(source)


def test_stored_chapter_is_found_and_edited_code_is_not(tmp_path):
    folder = tmp_path / "cache"
    source, notebook = chapter(tmp_path)
    assert not book_cache.is_cached(folder, notebook)
    book_cache.store(folder, source, notebook, "quick", 1.0)
    assert book_cache.is_cached(folder, book_cache.myst_notebook(source))
    _, edited = chapter(tmp_path, code="print(2 + 2)")
    assert not book_cache.is_cached(folder, edited)


def test_another_profile_empties_the_cache_and_the_same_profile_keeps_it(tmp_path):
    folder = tmp_path / "cache"
    source, notebook = chapter(tmp_path)
    book_cache.store(folder, source, notebook, "quick", 1.0)
    book_cache.prepare(folder, "quick")
    assert book_cache.is_cached(folder, notebook)
    book_cache.prepare(folder, "full")
    assert not book_cache.is_cached(folder, notebook)
    assert (folder / book_cache.PROFILE_MARKER).read_text().strip() == "full"


def test_a_cache_without_a_profile_marker_is_not_trusted(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "left-over").write_text("from an older build")
    book_cache.prepare(folder, "quick")
    assert not (folder / "left-over").exists()
