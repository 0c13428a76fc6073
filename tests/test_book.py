"""The published book: built with warnings as errors, every page present and clean."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from nlpcourse.instructor.chapters import toc_pages
from nlpcourse.instructor.course_home import read_course_home
from notebook_runs import ROOT, execute, notebook_sources

HTML = ROOT / "_build" / "html"
pytestmark = pytest.mark.slow


def toc_files() -> list[str]:
    return [path.relative_to(ROOT).with_suffix("").as_posix() for path in toc_pages(ROOT)]


@pytest.fixture(scope="module")
def build():
    for path in notebook_sources():
        execute(path)  # shares the harness's executions through the execution cache
    env = {**os.environ, "NLPCOURSE_PROFILE": "quick", "NLPCOURSE_PROGRESS": "0"}
    start = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n",
                             "--keep-going"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400)
    print(f"book build: {time.perf_counter() - start:.1f} s")
    return result


def pages() -> dict[str, BeautifulSoup]:
    return {path.relative_to(HTML).as_posix(): BeautifulSoup(path.read_text(), "html.parser")
            for path in HTML.rglob("*.html") if "_static" not in path.parts}


def test_book_builds_without_warnings(build):
    assert build.returncode == 0, f"jupyter-book build failed:\n{build.stdout[-6000:]}\n{build.stderr[-6000:]}"


def test_every_toc_page_is_published(build):
    missing = [name for name in toc_files() if not (HTML / f"{name}.html").exists()]
    assert not missing, f"pages in _toc.yml but not in the HTML: {missing}"


def test_no_page_from_labs_or_solutions_is_published(build):
    published = [path for path in HTML.rglob("*.html") if {"labs", "solutions"} & set(path.relative_to(HTML).parts)]
    assert not published, f"generated notebooks were published: {published}"


def test_no_hidden_tests_errors_or_stubs_on_any_page(build):
    # Prose may describe the mechanism (instructors' page); code cells and outputs may not show it.
    for name, page in pages().items():
        cells = " ".join(cell.get_text() for cell in page.select("div.cell"))
        assert "BEGIN HIDDEN TESTS" not in cells, f"{name} shows hidden tests"
        assert "NotImplementedError" not in cells, f"{name} shows a stub or its traceback"
        assert not page.select(".output.traceback, .output.error"), f"{name} has an error output"
        assert "Traceback (most recent call last)" not in page.get_text(), f"{name} shows a traceback"


@pytest.mark.parametrize("source", [p for p in notebook_sources() if p.stem != "results"], ids=lambda p: p.stem)
def test_chapter_has_a_figure_and_folded_solutions(build, source):
    page = BeautifulSoup((HTML / "book" / f"{source.stem}.html").read_text(), "html.parser")
    assert page.select(".cell_output img"), f"{source.stem} has no figure"
    notebook = execute(source).notebook
    solutions = [cell for cell in notebook.cells if cell.cell_type == "code"
                 and cell.metadata.get("nbgrader", {}).get("solution")]
    folded = page.select("div.cell.tag_hide-input")
    assert len(solutions) >= 4, f"{source.stem} has only {len(solutions)} graded code exercises"
    assert len(folded) >= len(solutions), f"{source.stem}: {len(solutions)} solutions, {len(folded)} folded cells"
    for cell in folded:
        assert cell.select_one("details"), f"{source.stem}: a hide-input cell is not behind a toggle"


@pytest.mark.parametrize("source", [p for p in notebook_sources() if p.stem != "results"], ids=lambda p: p.stem)
def test_chapter_links_to_its_student_notebook(build, source):
    page = BeautifulSoup((HTML / "book" / f"{source.stem}.html").read_text(), "html.parser")
    targets = [link.get("href", "") for link in page.select("a")]
    notebook = f"labs/{source.stem}.ipynb"
    assert (ROOT / notebook).exists(), f"{notebook} was not generated"
    home = read_course_home(ROOT)
    for url in (home.colab_url(source.stem), home.binder_url(source.stem), home.download_url(source.stem)):
        assert url in targets, f"{source.stem} has no link {url} to {notebook} (from repository: in _config.yml)"


def test_no_launch_button_opens_a_source_page(build):
    """The header's launch buttons would open book/<chapter>.md (solutions, hidden tests): none."""
    for name, page in pages().items():
        assert not page.select(".dropdown-launch-buttons"), f"{name} has header launch buttons"
        for href in (link.get("href", "") for link in page.select("a")):
            if any(service in href for service in ("colab.research", "mybinder.org", "raw.githubusercontent")):
                assert "labs/" in href or "labs%2F" in href or "lab%2Ftree%2Flabs" in href, f"{name} links {href}"


IMAGE_FILE_NAME = re.compile(r"\S*\.(png|jpe?g|svg|gif)", re.IGNORECASE)


@pytest.mark.parametrize("source", [p for p in notebook_sources() if p.stem != "results"], ids=lambda p: p.stem)
def test_every_chapter_figure_has_alt_text_and_a_caption(build, source):
    """Alt text says what an image shows (not its file name); each output figure has a caption."""
    page = BeautifulSoup((HTML / "book" / f"{source.stem}.html").read_text(), "html.parser")
    for image in page.select("img"):
        alt = image.get("alt", "").strip()
        src_name = Path(image.get("src", "")).name
        assert alt and not IMAGE_FILE_NAME.fullmatch(alt) and src_name not in alt, \
            f"{source.stem}: {image.get('src')} has alt text {alt!r}"
    figures = page.select(".cell_output img")
    assert figures, f"{source.stem} has no figure"
    for image in figures:
        assert len(image["alt"].split()) >= 8, f"{source.stem}: alt text {image['alt']!r} is too short to describe"
        figure = image.find_parent("figure")
        caption = figure.select_one("figcaption") if figure else None
        assert caption and caption.get_text(strip=True), f"{source.stem}: figure {image.get('src')} has no caption"


@pytest.mark.parametrize("source", [p for p in notebook_sources() if p.stem != "results"], ids=lambda p: p.stem)
def test_chapter_ends_with_further_reading(build, source):
    page = BeautifulSoup((HTML / "book" / f"{source.stem}.html").read_text(), "html.parser")
    section = page.select_one("section#further-reading")
    assert section, f"{source.stem} has no Further reading section"
    links = [link["href"] for link in section.select("li a.reference.external")]
    assert len(links) >= 4 and all(link.startswith("http") for link in links), f"{source.stem}: {links}"
