"""Sphinx configuration for the sklearn-mf documentation.

Build from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build never touches the network: there is no intersphinx, and the package is
imported from the installed environment (the repository root is put first on
``sys.path`` as well, so an uninstalled checkout works too).
"""

import inspect
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sklearn_mf  # noqa: E402

# -- Project -------------------------------------------------------------------------

project = "sklearn-mf"
author = "The sklearn-mf developers"
copyright = "The sklearn-mf developers"
version = sklearn_mf.__version__
release = sklearn_mf.__version__

# -- General -------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served with the pages: formulas render offline
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# -- Example gallery -------------------------------------------------------------------

# The examples read SKLEARN_MF_DATA (MovieLens 100K) and fall back to make_ratings.
sphinx_gallery_conf = {
    "examples_dirs": str(Path(__file__).resolve().parent.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "ignore_pattern": r"(^|/)_[a-z]",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
language = "en"

# -- autodoc / autosummary -----------------------------------------------------------

# Stubs are written next to the page that asks for them (api.rst -> api/generated/,
# which is gitignored) and regenerated on every build.
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autoclass_content = "class"


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only methods defined in sklearn_mf.

    Methods inherited from scikit-learn (``score``, ``get_params``, ``set_params``,
    ``set_*_request``...) have docstrings that point to labels of scikit-learn's own
    documentation, which cannot resolve here (no intersphinx) and would fail ``-W``.
    """
    if what == "class" and (inspect.isroutine(obj) or inspect.isdatadescriptor(obj)):
        module = getattr(obj, "__module__", None) or ""
        if not module.startswith("sklearn_mf"):
            return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)


# -- numpydoc ------------------------------------------------------------------------

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_show_inherited_class_members = False

# -- HTML ----------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-mf {release}"
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
