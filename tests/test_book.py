"""The published book: built with warnings as errors, every page present and clean."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from nlpcourse.book import book_cache, results_page
from nlpcourse.course.chapters import find_chapters
from nlpcourse.course.chapters import toc_pages
from nlpcourse.course.home import read_course_home
from nlpcourse.book.edition import MODEL_ANSWER_TITLE, WITHHELD_CLASS, written_answer_count
from nlpcourse.book.offline import LOCAL_MATHJAX
from helpers import EXECUTION_CACHE, ROOT, execute, notebook_sources

HTML = ROOT / "_build" / "html"
STUDENT_HTML = ROOT / "_build" / "student" / "_build" / "html"  # jupyter-book adds _build/html
pytestmark = pytest.mark.slow


def toc_files() -> list[str]:
    return [path.relative_to(ROOT).with_suffix("").as_posix() for path in toc_pages(ROOT)]


def jupyter_book_build(*options: str, **environment: str) -> subprocess.CompletedProcess:
    """``jupyter-book build . -W -n --keep-going`` in the quick profile, timed."""
    env = {**os.environ, "NLPCOURSE_PROFILE": "quick", "NLPCOURSE_PROGRESS": "0", **environment}
    for name in ("NLPCOURSE_EDITION", "NLPCOURSE_OFFLINE"):
        if name not in environment:
            env.pop(name, None)  # the full, online edition unless asked
    start = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", ".", *options, "-W", "-n",
                             "--keep-going"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400)
    result.seconds = time.perf_counter() - start
    print(f"jupyter-book build {' '.join(options)} {environment}: {result.seconds:.1f} s")
    return result


@pytest.fixture(scope="module")
def build():
    book_cache.prepare(EXECUTION_CACHE, "quick")
    for path in notebook_sources():
        if not book_cache.is_cached(EXECUTION_CACHE, book_cache.myst_notebook(path)):
            execute(path)  # shares the harness's executions through the execution cache
    return jupyter_book_build()


@pytest.fixture(scope="module")
def student_build(build):
    """The student edition, built offline (a classroom's build) from the full build's execution cache."""
    return jupyter_book_build("--path-output", str(STUDENT_HTML.parents[1]), NLPCOURSE_EDITION="student",
                              NLPCOURSE_OFFLINE="1")


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
    notebook = book_cache.myst_notebook(source)
    solutions = [cell for cell in notebook.cells if cell.cell_type == "code"
                 and cell.metadata.get("nbgrader", {}).get("solution")]
    folded = page.select("div.cell.tag_hide-input")
    # a chapter has at least 4 graded code exercises; a short session at least 3: the primer
    # (its 2-3 exercises: issue #22) and the 20 Newsgroups lab's first session (3 exercises and 2
    # written questions in about 90 minutes, the lab's other 4 exercises are in session 2)
    least = 3 if source.stem in ("primer_pytorch", "lab_newsgroups_vectors") else 4
    assert len(solutions) >= least, f"{source.stem} has only {len(solutions)} graded code exercises"
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


# --------------------------------------------------------------------------- the student edition

CHAPTERS = [p for p in notebook_sources() if p.stem != "results"]
NBGRADER_STUB = re.compile(r"# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)")
SOLUTION_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n", re.DOTALL | re.MULTILINE)


def solution_lines(source: Path) -> list[str]:
    """The lines inside a chapter's solution regions that occur nowhere else in the chapter."""
    text = source.read_text()
    elsewhere = SOLUTION_REGION.sub("", text)
    lines = {line.strip() for region in SOLUTION_REGION.findall(text) for line in region.splitlines()}
    return sorted(line for line in lines if len(line) >= 12 and not line.startswith("#") and line not in elsewhere)


def model_answers(page: BeautifulSoup) -> list:
    return [box for box in page.select("div.admonition")
            if box.select_one(".admonition-title") and box.select_one(".admonition-title").get_text(strip=True)
            == MODEL_ANSWER_TITLE]


def test_no_published_file_holds_a_chapter_source(build, student_build):
    """Neither edition publishes page sources (``_sources/``: hidden tests, solutions) nor their text anywhere."""
    for html, markers in ((HTML, ("BEGIN HIDDEN TESTS",)),
                          (STUDENT_HTML, ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION"))):
        assert not (html / "_sources").exists(), f"{html}/_sources publishes the chapters' sources"
        for page in html.rglob("*.html"):
            assert "_sources/" not in page.read_text(), f"{page.relative_to(ROOT)} links a page source"
        for path in html.rglob("*"):
            if path.suffix in {".html", ".js", ".txt", ".md", ".ipynb", ".json"} and "mathjax" not in path.parts:
                text = path.read_text(errors="replace")
                assert not [m for m in markers if m in text], f"{path.relative_to(ROOT)} holds {markers}"


def test_student_edition_builds_from_the_cache_without_executing(student_build):
    assert student_build.returncode == 0, \
        f"student edition failed:\n{student_build.stdout[-6000:]}\n{student_build.stderr[-6000:]}"
    executed = re.findall(r"(\S+\.md): Executing notebook", student_build.stdout + student_build.stderr)
    # book/results.md reads result files and is executed on every build on purpose (execution_mode: force)
    assert [Path(name).stem for name in executed] in ([], ["results"]), f"re-executed: {executed}"
    print(f"student edition built in {student_build.seconds:.0f} s")


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_student_edition_has_no_solution_and_no_model_answer(student_build, source):
    page = BeautifulSoup((STUDENT_HTML / "book" / f"{source.stem}.html").read_text(), "html.parser")
    listings = [pre for pre in page.select("pre") if not pre.find_parent("div", class_="cell")]
    # Listings outside code cells are the chapter's {literalinclude}s of nlpcourse's own source (lines
    # written in the chapter are excluded by solution_lines): code every learner installs, not a leak.
    text = "".join(node for node in page.find_all(string=True)
                   if not any(node.find_parent("pre") is pre for pre in listings))
    regions = len(SOLUTION_REGION.findall(source.read_text()))
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, f"{source.stem} shows solution markers"
    leaked = [line for line in solution_lines(source) if line in text]
    assert not leaked, f"{source.stem} shows solution lines: {leaked[:5]}"
    stubs = sum(len(NBGRADER_STUB.findall(cell.get_text())) for cell in page.select("div.cell"))
    assert stubs >= regions, f"{source.stem}: {regions} solution regions but {stubs} nbgrader stubs shown"
    assert not model_answers(page), f"{source.stem} shows a model answer"
    full = BeautifulSoup((HTML / "book" / f"{source.stem}.html").read_text(), "html.parser")
    for answer in model_answers(full):
        body = answer.get_text(" ", strip=True).removeprefix(MODEL_ANSWER_TITLE).strip()[:80]
        assert body and body not in page.get_text(" ", strip=True), f"{source.stem} shows a model answer: {body}"
    withheld = page.select(f"div.{WITHHELD_CLASS}")
    assert len(withheld) == written_answer_count(str(source)), f"{source.stem}: written answers without a note"
    assert page.select("div.cell_output img"), f"{source.stem}: the student edition lost its figures"


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_full_edition_keeps_solutions_and_model_answers_folded(build, source):
    page = BeautifulSoup((HTML / "book" / f"{source.stem}.html").read_text(), "html.parser")
    lines = solution_lines(source)
    folded = " ".join(cell.get_text() for cell in page.select("div.cell details"))
    assert lines and all(line in folded for line in lines), f"{source.stem}: a solution line is not folded"
    answers = model_answers(page)
    assert len(answers) == written_answer_count(str(source)), f"{source.stem}: a written answer has no model answer"
    assert all("dropdown" in answer["class"] for answer in answers), f"{source.stem}: a model answer is not folded"


# --------------------------------------------------------------------------- math without internet

MATH_PAGE = "book/day1_lstm_tagger.html"  # a page with inline and display math


def test_offline_build_serves_mathjax_from_the_build(student_build):
    page = BeautifulSoup((STUDENT_HTML / MATH_PAGE).read_text(), "html.parser")
    sources = [script.get("src", "") for script in page.select("script")]
    mathjax = [src for src in sources if "mathjax" in src.lower()]
    assert mathjax and all(src.split("?")[0].endswith("_static/" + LOCAL_MATHJAX) for src in mathjax), mathjax
    assert (STUDENT_HTML / "_static" / LOCAL_MATHJAX).is_file(), "the page's MathJax is not in the build"
    loaded = sources + [link.get("href", "") for link in page.select("link")] + [img.get("src", "") for img in page.select("img")]
    assert not [url for url in loaded if url.startswith(("http:", "https:", "//"))], f"loaded from the web: {loaded}"
    online = BeautifulSoup((HTML / MATH_PAGE).read_text(), "html.parser")
    assert any("mathjax" in script.get("src", "") for script in online.select("script")), "the full edition has no MathJax"


def rendered_dom(page: Path, *options: str) -> str:
    """``page`` after its scripts ran in headless Chromium with every network request refused."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless Chromium (Debian: apt-get install chromium) to check rendered math")
    with_profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"nlpcourse-chromium-{os.getpid()}"
    result = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={with_profile}",
                             "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
                             "--virtual-time-budget=15000", *options, "--dump-dom", page.as_uri()],
                            capture_output=True, text=True, timeout=120)
    shutil.rmtree(with_profile, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_offline_math_renders_without_network(student_build):
    """MathJax typesets the offline build's math with the network blocked; the CDN build cannot."""
    offline = rendered_dom(STUDENT_HTML / MATH_PAGE)
    assert offline.count("<mjx-container") >= 5, "MathJax did not typeset the offline page"
    assert "<mjx-container" not in rendered_dom(HTML / MATH_PAGE), "the network was not blocked: the check proves nothing"


# --------------------------------------------------------------------------- the results page


def test_results_page_compares_our_numbers_with_the_anchors(build):
    page = BeautifulSoup((HTML / "book" / "results.html").read_text(), "html.parser")
    records = results_page.load_records(ROOT / "results" / "full")
    anchors = results_page.load_anchors(ROOT / "results" / "anchors.yml")
    tables = [table for table in page.select("table")
              if "This course (full profile)" in table.select_one("thead, tr").get_text()]
    assert len(tables) == len(records), f"{len(records)} chapters recorded, {len(tables)} result tables"
    text = page.get_text(" ", strip=True)
    for table in tables:
        names = [row.select_one("td").get_text(strip=True) for row in table.select("tbody tr")]
        raw = [name for name in names if re.fullmatch(r"[a-z0-9_]+", name)]
        assert names and not raw, f"raw metric keys in a results table: {raw}"
    for anchor in anchors:
        assert f"{anchor.value:.1%}" in text and anchor.label in text, f"anchor {anchor.label} missing"
    for shown in ("84.8%", "86.2%", "77.6%", "72.7%", "TF-IDF + logistic regression, same run"):
        assert shown in text, f"results page lacks {shown}"
    if "ensemble_test_accuracy" in records.get("imdb", {}):
        assert f"{records['imdb']['ensemble_test_accuracy']:.1%}" in text, "the IMDB ensemble is not shown"
    for chapter, record in records.items():
        key, _, unit = results_page.METRICS[chapter][0]  # each chapter's first row: its headline
        assert results_page.format_value(record[key], unit) in text, f"{chapter}: our headline number is not shown"
        assert f"at commit {record['commit']} on {record['date']}" in text, f"{chapter}: no provenance line"
    figure = page.select_one("figure img")
    assert figure and len(figure.get("alt", "").split()) >= 8, "the results chart has no alt text"
    assert figure.find_parent("figure").select_one("figcaption").get_text(strip=True), "the chart has no caption"


# --------------------------------------------------------------------------- code width

CODE_WIDTH = 88  # characters a line in chapter code cells. Measured in headless Chromium 156 on a built
# chapter (sphinx-book-theme): a code cell's text is 640 px wide in a 1280 px window, 75 characters of the
# theme's 14 px DejaVu Sans Mono; _static/code-width.css sets code cells to 0.72rem so that 88 fit
# (test_code_cells_do_not_scroll_sideways checks it in the browser).


def long_code_lines(source: Path) -> list[str]:
    """``file:line (N characters)`` for each code-cell line of a MyST chapter over CODE_WIDTH."""
    long, in_cell, in_header = [], False, False
    for number, line in enumerate(source.read_text().splitlines(), start=1):
        if not in_cell:
            in_cell = in_header = line.startswith("```{code-cell}")
            front_matter = False
            continue
        if line.startswith("```") and not line.strip("`"):
            in_cell = False
        elif in_header and line == "---":
            front_matter = not front_matter
            in_header = front_matter
        elif in_header and (front_matter or line.startswith(":")):
            continue
        else:
            in_header = False
            if len(line) > CODE_WIDTH:
                long.append(f"{source.relative_to(ROOT)}:{number} ({len(line)} characters)")
    return long


def test_every_code_line_fits_the_code_column():
    long = [line for source in sorted((ROOT / "book").glob("*.md")) for line in long_code_lines(source)]
    assert not long, f"{len(long)} code-cell lines over {CODE_WIDTH} characters:\n" + "\n".join(long)


WIDTH_PROBE = """<script>window.addEventListener("load", () => {
  const wide = [...document.querySelectorAll("div.cell_input pre")].filter(p => p.scrollWidth > p.clientWidth + 1);
  document.body.setAttribute("data-wide-cells", String(wide.length));
  document.body.setAttribute("data-cells", String(document.querySelectorAll("div.cell_input pre").length));
});</script>"""


@pytest.mark.parametrize("chapter", [p.stem for p in find_chapters(ROOT / "book")])
def test_code_cells_do_not_scroll_sideways(build, chapter):
    """In a 1280 x 800 window no code cell of a built chapter needs a horizontal scroll bar."""
    page = HTML / "book" / f"{chapter}.html"
    probe = page.with_name(f"_width_probe_{os.getpid()}.html")  # beside the page: same relative assets
    probe.write_text(page.read_text().replace("</body>", WIDTH_PROBE + "</body>"))
    try:
        dom = BeautifulSoup(rendered_dom(probe, "--window-size=1280,800"), "html.parser")
    finally:
        probe.unlink()
    cells = int(dom.body.get("data-cells", "0"))
    assert cells > 10, f"{chapter}: the probe found {cells} code cells"
    assert dom.body["data-wide-cells"] == "0", f"{chapter}: {dom.body['data-wide-cells']} code cells scroll sideways"
