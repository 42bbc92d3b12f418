"""Sphinx configuration for optlib.

Build with ``sphinx-build -b html docs docs/_build/html`` (``pip install -e ".[docs]"``).

The example gallery (``examples/plot_*.py``, sphinx-gallery) is rendered
without running the scripts by default, so that the docs build in seconds and
without a display. Set ``OPTLIB_DOCS_RUN_EXAMPLES=1`` to execute them and
embed their figures.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the source tree, installed or not

import optlib  # noqa: E402

# -- project -------------------------------------------------------------------

project = "optlib"
author = "optlib developers"
copyright = "optlib developers"
release = optlib.__version__
version = ".".join(release.split(".")[:2])

# -- general -------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]

# -- autodoc / autosummary / numpydoc --------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
autodoc_typehints = "none"  # the numpydoc docstrings carry the types
autodoc_member_order = "bysource"
# A module that cannot be imported yet (work in progress) must not break the
# build: autodoc then only warns.
autodoc_mock_imports = ["cupy"]

numpydoc_show_class_members = False  # members are listed by the class template
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

# -- MyST (Markdown) -----------------------------------------------------------

myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# -- intersphinx ---------------------------------------------------------------

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
}
# The build machine may be offline: a failed inventory fetch is only a warning,
# and no network access is attempted when OPTLIB_DOCS_OFFLINE=1.
if os.environ.get("OPTLIB_DOCS_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
    intersphinx_mapping = {}
intersphinx_timeout = 5

# -- sphinx-gallery ------------------------------------------------------------

RUN_EXAMPLES = os.environ.get("OPTLIB_DOCS_RUN_EXAMPLES", "").strip().lower() in ("1", "true", "yes", "on")
EXAMPLES_DIR = ROOT / "examples"
_GALLERY_HEADERS = ("GALLERY_HEADER.rst", "README.txt", "README.rst")

try:
    import sphinx_gallery  # noqa: F401
except ImportError:  # pragma: no cover - docs extra not installed
    HAVE_GALLERY = False
else:
    # sphinx-gallery refuses an examples folder without a header file
    HAVE_GALLERY = EXAMPLES_DIR.is_dir() and any((EXAMPLES_DIR / h).exists() for h in _GALLERY_HEADERS)

if HAVE_GALLERY:
    extensions.append("sphinx_gallery.gen_gallery")
    sphinx_gallery_conf = {
        "examples_dirs": "../examples",
        "gallery_dirs": "auto_examples",
        "filename_pattern": "/plot_",
        "ignore_pattern": r"(__init__|conftest)\.py",
        # Off by default (fast, headless); OPTLIB_DOCS_RUN_EXAMPLES=1 runs them.
        # ``sphinx-build -D plot_gallery=1`` also works.
        "plot_gallery": "True" if RUN_EXAMPLES else "False",
        "download_all_examples": False,
        "within_subsection_order": "FileNameSortKey",
        "backreferences_dir": "gen_modules/backreferences",
        "doc_module": ("optlib",),
        "reference_url": {"optlib": None},
        "matplotlib_animations": False,
        "remove_config_comments": True,
    }
else:
    # keep the toctree entry ``auto_examples/index`` valid: a placeholder page
    # (git-ignored, like the generated gallery) points at the sources.
    _placeholder = DOCS / "auto_examples" / "index.rst"
    if not _placeholder.exists():
        _placeholder.parent.mkdir(exist_ok=True)
        _placeholder.write_text(
            "Examples\n========\n\n"
            "The example gallery is built by sphinx-gallery from ``examples/plot_*.py``; "
            "it is not available in this build (sphinx-gallery missing, or ``examples/`` "
            "has no ``GALLERY_HEADER.rst`` / ``README.txt``). Run the scripts directly, "
            "e.g. ``python examples/plot_sparse_coding_penalties.py``.\n"
        )

# -- HTML ----------------------------------------------------------------------

html_theme = "alabaster"
html_title = f"optlib {release}"
html_theme_options = {
    "description": "Scientific optimization on NumPy and CuPy",
    "fixed_sidebar": True,
}


# -- skip scikit-learn's generated metadata-routing methods ---------------------
# ``set_fit_request`` / ``set_score_request`` ... are generated by scikit-learn for
# estimators whose methods take metadata (sample weights); their docstrings
# cross-reference scikit-learn's own glossary, which does not exist here.


def _skip_metadata_request(app, what, name, obj, skip, options):
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request)
